"""A consumer of an EventType parses only the versions it accepts; any other is a failed record.

The consumer is called as Lambda calls it, against DynamoDB (and, for FIFO, SQS) in moto. An
event of a version the consumer does not accept never reaches the handler (a v2 event half-parsed
as a v1 would still "succeed"), claims no idempotency key and fails only its own record.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from runtime_test_helpers import failed_ids, metric, stdout_json_lines

from event_fanout.events import EventType
from event_fanout.operations.route import to_envelope
from event_fanout.runtime import EventBridgeEvent, RuntimeConfigError, constants, fanout_consumer
from event_fanout.runtime.consumer import FanoutHandler
from event_fanout.runtime.testing import (
    FakeLambdaContext,
    make_eventbridge_event,
    sqs_event,
    sqs_record,
)

REGION = "eu-west-1"
TABLE = "consumer-idempotency"
SOURCE = "shop.pricing"
DETAIL_TYPE = "PriceChanged"
FIFO_ARN = f"arn:aws:sqs:{REGION}:123456789012:consumer-queue.fifo"
GROUP = "prices"
MAX_RECEIVE_COUNT = 3
#: Missing from the event's detail (as opposed to a value of ``eventVersion``).
NO_VERSION = object()


class PriceChangedV1(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    product_id: int
    price: float


class PriceChangedV2(BaseModel):
    """Version 2 added the currency; its model still reads a v1 event (the default)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    product_id: int
    price: float
    currency: str = "EUR"


PriceChanged = EventType(SOURCE, DETAIL_TYPE, 1, detail=PriceChangedV1)
PriceChanged2 = EventType(SOURCE, DETAIL_TYPE, 2, detail=PriceChangedV2)
StockChanged = EventType("shop.stock", "StockChanged", 1, detail=PriceChangedV1)


@pytest.fixture(autouse=True)
def no_declared_event_type(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a function deployed without ``event_type=`` has (the runtime conftest keeps these)."""
    monkeypatch.delenv(constants.ENV_EVENT_TYPE, raising=False)
    monkeypatch.delenv(constants.ENV_EVENT_VERSIONS, raising=False)


def price_event(product_id: int, version: object = 1, **detail: Any) -> dict[str, Any]:
    """A PriceChanged event as EventBridge delivers it, of ``version`` (or of none)."""
    body: dict[str, Any] = {"productId": product_id, "price": 9.5, **detail}
    if version is not NO_VERSION:
        body[constants.EVENT_VERSION_FIELD] = version
    return make_eventbridge_event(body, source=SOURCE, detail_type=DETAIL_TYPE)


class Consumer:
    """A consumer of ``event_type`` whose effect is an append to ``seen``."""

    def __init__(self, event_type: EventType[Any]) -> None:
        self.seen: list[tuple[int, BaseModel, str | None]] = []

        @fanout_consumer(event_type=event_type)
        def handler(event: EventBridgeEvent[Any]) -> None:
            self.seen.append((event.detail.product_id, event.detail, event.event_version))

        self.handler: FanoutHandler[Any] = handler

    def __call__(self, *records: Any) -> dict[str, Any]:
        return dict(self.handler(sqs_event(*records), FakeLambdaContext()))

    @property
    def products(self) -> list[int]:
        """The products handled, in order (records on several threads finish in any order)."""
        return sorted(product for product, _, _ in self.seen)


def claimed_keys(dynamodb: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = dynamodb.scan(TableName=TABLE)["Items"]
    return items


def malformed_lines(out: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    logs, metrics = stdout_json_lines(out)
    return [line for line in logs if line["message"].startswith("Malformed record")], metrics


# --- versions the consumer does not accept --------------------------------------------------


def test_unaccepted_version_fails_only_its_record_and_the_rest_of_the_batch_runs(
    consumer_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    consumer = Consumer(PriceChanged)
    newer = price_event(2, version=2)

    response = consumer(
        sqs_record(price_event(1), message_id="v1-before"),
        sqs_record(newer, message_id="v2"),
        sqs_record(price_event(3), message_id="v1-after"),
    )

    assert failed_ids(response) == ["v2"]
    assert consumer.products == [1, 3]
    (line,), metrics = malformed_lines(capsys.readouterr().out)
    assert line["level"] == "ERROR"
    assert line["message_id"] == "v2"
    assert "version 2" in line["reason"]
    assert "(1)" in line["reason"]
    assert PriceChanged.name in line["reason"]
    assert metric(metrics[-1], constants.METRIC_MALFORMED) == 1
    assert metric(metrics[-1], constants.METRIC_FAILED) == 1
    assert metric(metrics[-1], constants.METRIC_PROCESSED) == 2
    # Only the two v1 events claimed a key, and both completed.
    keys = claimed_keys(consumer_env)
    assert [item["status"]["S"] for item in keys] == ["COMPLETED", "COMPLETED"]


def test_unaccepted_version_leaves_its_key_free_for_a_consumer_that_accepts_it(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    newer = price_event(2, version=2)
    refused = Consumer(PriceChanged)(sqs_record(newer, message_id="first"))
    assert failed_ids(refused) == ["first"]
    assert claimed_keys(consumer_env) == []

    # The consumer redeployed with version 2 (same consumer name, same key prefix): the
    # redelivered event runs, it is not skipped as a duplicate of the refused delivery.
    monkeypatch.setenv(constants.ENV_EVENT_VERSIONS, "1,2")
    upgraded = Consumer(PriceChanged2)
    response = upgraded(sqs_record(newer, message_id="again", receive_count=2))

    assert failed_ids(response) == []
    assert upgraded.products == [2]


def test_consumer_accepting_two_versions_processes_both_with_its_newer_model(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What add_consumer(event_type=PriceChanged2, event_versions=[1, 2]) sets on the function.
    monkeypatch.setenv(constants.ENV_EVENT_TYPE, PriceChanged2.name)
    monkeypatch.setenv(constants.ENV_EVENT_VERSIONS, "1,2")
    consumer = Consumer(PriceChanged2)

    response = consumer(price_event(1, version=1), price_event(2, version=2, currency="USD"))

    assert failed_ids(response) == []
    assert consumer.products == [1, 2]
    (_, v1, v1_version), (_, v2, v2_version) = sorted(consumer.seen, key=lambda seen: seen[0])
    assert isinstance(v1, PriceChangedV2) and isinstance(v2, PriceChangedV2)
    assert (v1.currency, v2.currency) == ("EUR", "USD")
    assert (v1_version, v2_version) == ("1", "2")


def test_v2_consumer_without_declared_versions_accepts_only_its_own_version(
    consumer_env: Any,
) -> None:
    # A function deployed without the construct's environment: the type's version only.
    consumer = Consumer(PriceChanged2)

    response = consumer(
        sqs_record(price_event(1, version=1), message_id="v1"),
        sqs_record(price_event(2, version=2), message_id="v2"),
    )

    assert failed_ids(response) == ["v1"]
    assert consumer.products == [2]


def test_event_without_a_version_is_version_1_for_a_v1_consumer(consumer_env: Any) -> None:
    consumer = Consumer(PriceChanged)

    response = consumer(price_event(1, version=NO_VERSION))

    assert failed_ids(response) == []
    assert consumer.products == [1]


def test_event_without_a_version_is_refused_by_a_consumer_accepting_only_2(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(constants.ENV_EVENT_VERSIONS, "2")
    consumer = Consumer(PriceChanged2)

    response = consumer(
        sqs_record(price_event(1, version=NO_VERSION), message_id="unversioned"),
        sqs_record(price_event(2, version=2), message_id="v2"),
    )

    assert failed_ids(response) == ["unversioned"]
    assert consumer.products == [2]
    (line,), _ = malformed_lines(capsys.readouterr().out)
    assert "version 1" in line["reason"]
    assert "(2)" in line["reason"]


def test_a_true_event_version_is_refused_not_taken_as_1(
    consumer_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # json: true == 1 in Python; a boolean is no version.
    consumer = Consumer(PriceChanged)

    response = consumer(sqs_record(price_event(1, version=True), message_id="boolean"))

    assert failed_ids(response) == ["boolean"]
    assert consumer.seen == []
    assert claimed_keys(consumer_env) == []
    (line,), _ = malformed_lines(capsys.readouterr().out)
    assert "version True" in line["reason"]


@pytest.mark.parametrize("version", [1.0, "1"], ids=["float", "string"])
def test_a_version_that_is_not_a_json_integer_is_refused(
    consumer_env: Any, version: object, capsys: pytest.CaptureFixture[str]
) -> None:
    consumer = Consumer(PriceChanged)

    response = consumer(sqs_record(price_event(1, version=version), message_id="odd"))

    assert failed_ids(response) == ["odd"] and consumer.seen == []
    (line,), _ = malformed_lines(capsys.readouterr().out)
    assert f"version {version!r}" in line["reason"]


def test_a_null_version_is_version_1(consumer_env: Any) -> None:
    consumer = Consumer(PriceChanged)

    response = consumer(sqs_record(price_event(1, version=None), message_id="null"))

    assert failed_ids(response) == [] and consumer.products == [1]


# --- configuration of the whole invocation --------------------------------------------------


def test_function_deployed_for_another_event_type_processes_no_record(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(constants.ENV_EVENT_TYPE, StockChanged.name)
    consumer = Consumer(PriceChanged)

    with pytest.raises(RuntimeConfigError) as caught:
        consumer(price_event(1), price_event(2))

    assert StockChanged.name in str(caught.value)
    assert PriceChanged.name in str(caught.value)
    assert consumer.seen == []
    assert claimed_keys(consumer_env) == []
    logs, _ = stdout_json_lines(capsys.readouterr().out)
    (line,) = [entry for entry in logs if entry["message"].startswith("Consumer configuration")]
    assert line["level"] == "ERROR"
    assert constants.ENV_EVENT_TYPE in line["reason"]


def test_function_deployed_for_its_own_event_type_runs(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(constants.ENV_EVENT_TYPE, PriceChanged.name)
    consumer = Consumer(PriceChanged)

    assert failed_ids(consumer(price_event(1))) == []
    assert consumer.products == [1]


@pytest.mark.parametrize("versions", ["1,x", "0", "1,,2", "1,-2"])
def test_versions_that_are_not_positive_integers_fail_the_invocation(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch, versions: str
) -> None:
    monkeypatch.setenv(constants.ENV_EVENT_VERSIONS, versions)
    consumer = Consumer(PriceChanged)

    with pytest.raises(RuntimeConfigError, match=constants.ENV_EVENT_VERSIONS):
        consumer(price_event(1))

    assert consumer.seen == []
    assert claimed_keys(consumer_env) == []


# --- FIFO: moved to the dead-letter queue on the last receive --------------------------------


@pytest.fixture
def dead_letter_queue(consumer_env: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The consumer's FIFO DLQ, with the environment the construct sets for a FIFO consumer."""
    sqs = boto3.client("sqs", region_name=REGION)
    url: str = sqs.create_queue(
        QueueName="consumer-dlq.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    monkeypatch.setenv(constants.ENV_DEAD_LETTER_QUEUE_URL, url)
    monkeypatch.setenv(constants.ENV_MAX_RECEIVE_COUNT, str(MAX_RECEIVE_COUNT))
    return url


def dead_lettered(url: str) -> list[Any]:
    sqs = boto3.client("sqs", region_name=REGION)
    messages: list[Any] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def fifo_record(body: dict[str, Any], message_id: str, receive_count: int) -> dict[str, Any]:
    return sqs_record(
        body,
        message_id=message_id,
        queue_arn=FIFO_ARN,
        message_group_id=GROUP,
        receive_count=receive_count,
    )


def test_fifo_unaccepted_version_is_dead_lettered_with_its_reason_on_the_last_receive(
    dead_letter_queue: str,
) -> None:
    consumer = Consumer(PriceChanged)
    newer = price_event(2, version=2)
    records = [
        fifo_record(price_event(1), "before", MAX_RECEIVE_COUNT),
        fifo_record(newer, "v2", MAX_RECEIVE_COUNT),
        fifo_record(price_event(3), "behind", MAX_RECEIVE_COUNT),
    ]

    response = consumer(*records)

    # Moved, so reported handled: the group's record behind it runs, in order.
    assert failed_ids(response) == []
    assert consumer.products == [1, 3]
    (moved,) = dead_lettered(dead_letter_queue)
    assert json.loads(moved["Body"]) == newer
    reason = moved["MessageAttributes"][constants.DEAD_LETTER_REASON_ATTRIBUTE]["StringValue"]
    assert "UnacceptedEventVersionError" in reason
    assert "version 2" in reason
    assert "(1)" in reason


def test_fifo_unaccepted_version_before_its_last_receive_holds_its_group(
    dead_letter_queue: str,
) -> None:
    consumer = Consumer(PriceChanged)
    records = [
        fifo_record(price_event(2, version=2), "v2", MAX_RECEIVE_COUNT - 1),
        fifo_record(price_event(3), "behind", MAX_RECEIVE_COUNT - 1),
    ]

    response = consumer(*records)

    assert failed_ids(response) == ["v2", "behind"]
    assert consumer.seen == []
    assert dead_lettered(dead_letter_queue) == []


# --- producer and consumer agree ------------------------------------------------------------


def delivered(entry: dict[str, Any]) -> dict[str, Any]:
    """A PutEvents entry as the consumer receives it: an EventBridge envelope in an SQS record."""
    return sqs_record(to_envelope(entry), message_id="published")


@pytest.mark.parametrize("event_type", [PriceChanged, PriceChanged2], ids=["v1", "v2"])
def test_an_event_published_through_its_type_is_processed_by_a_consumer_of_that_type(
    consumer_env: Any, event_type: EventType[Any]
) -> None:
    entry = event_type.entry({"productId": 7, "price": 12.5}).to_entry()
    consumer = Consumer(event_type)

    response = consumer(delivered(entry))

    assert failed_ids(response) == []
    ((product, detail, version),) = consumer.seen
    assert product == 7
    assert isinstance(detail, event_type.detail)
    assert version == str(event_type.version)


def test_a_v2_event_published_through_its_type_is_refused_by_a_v1_consumer(
    consumer_env: Any,
) -> None:
    entry = PriceChanged2.entry({"productId": 7, "price": 12.5}).to_entry()
    consumer = Consumer(PriceChanged)

    response = consumer(delivered(entry))

    assert failed_ids(response) == ["published"]
    assert consumer.seen == []


class StrictPriceChanged(BaseModel):
    """A detail model that forbids unknown fields, a common way to pin a contract."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    product_id: int
    price: float


def test_an_event_of_a_strict_model_published_through_its_type_is_processed(
    consumer_env: Any,
) -> None:
    strict = EventType(SOURCE, DETAIL_TYPE, 1, detail=StrictPriceChanged)
    entry = strict.entry({"productId": 7, "price": 12.5}).to_entry()
    consumer = Consumer(strict)

    response = consumer(delivered(entry))

    assert failed_ids(response) == []
    assert consumer.products == [7]


def test_an_entry_that_does_not_fit_the_model_is_never_published() -> None:
    from event_fanout.events import InvalidEventDetailError

    with pytest.raises(InvalidEventDetailError, match="productId"):
        PriceChanged.entry({"productId": "seven", "price": 12.5})
