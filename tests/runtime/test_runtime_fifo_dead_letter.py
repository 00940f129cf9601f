"""FIFO: a poison record is moved to the DLQ on its last receive, its group's healthy records run.

Without the move, ``SqsFifoPartialProcessor(skip_group_on_error=True)`` reports the records
behind a failing one as failed on every receive, so they reach ``max_receive_count`` together with
it and SQS dead-letters the whole group.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from runtime_test_helpers import (
    Recorder,
    budget_event,
    failed_ids,
    metric,
    stdout_json_lines,
)

from event_fanout.runtime import ConsumerSettings, RuntimeConfigError, constants
from event_fanout.runtime.testing import FakeLambdaContext, sqs_record

REGION = "eu-west-1"
FIFO_ARN = f"arn:aws:sqs:{REGION}:123456789012:consumer-queue.fifo"
GROUP = "budgets"
MAX_RECEIVE_COUNT = 3


@pytest.fixture
def dead_letter_queue(consumer_env: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The consumer's FIFO DLQ, with the environment the construct sets for a FIFO consumer."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(
        QueueName="consumer-dlq.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    monkeypatch.setenv(constants.ENV_DEAD_LETTER_QUEUE_URL, url)
    monkeypatch.setenv(constants.ENV_MAX_RECEIVE_COUNT, str(MAX_RECEIVE_COUNT))
    return url


def dead_lettered(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", []):
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def fifo_record(body: dict[str, Any] | str, message_id: str, **kwargs: Any) -> dict[str, Any]:
    return sqs_record(
        body, message_id=message_id, queue_arn=FIFO_ARN, message_group_id=GROUP, **kwargs
    )


def with_receive_count(record: dict[str, Any], count: int) -> dict[str, Any]:
    return {**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": str(count)}}


def replay(recorder: Recorder, records: list[dict[str, Any]]) -> list[list[str]]:
    """Deliver like SQS and Lambda do: failed records come back with a higher receive count.

    Every record still in the queue is received again on the next attempt (one group, in order),
    up to ``max_receive_count`` receives; returns the ``batchItemFailures`` of each attempt.
    """
    pending = records
    failures: list[list[str]] = []
    for receive in range(1, MAX_RECEIVE_COUNT + 1):
        batch = [with_receive_count(record, receive) for record in pending]
        failed = failed_ids(dict(recorder.handler({"Records": batch}, FakeLambdaContext())))
        failures.append(failed)
        pending = [record for record in pending if record["messageId"] in failed]
        if not pending:
            break
    return failures


POISONS = {
    "handler-error": (budget_event(2), "downstream refused campaign 2"),
    "malformed": ("{not json", "body is not JSON"),
}


@pytest.mark.parametrize("poison_kind", list(POISONS))
def test_fifo_poison_record_is_dead_lettered_alone_and_its_group_runs_once_in_order(
    dead_letter_queue: str, capsys: pytest.CaptureFixture[str], poison_kind: str
) -> None:
    # GIVEN one message group: a healthy record, a poison record, two healthy records behind it
    recorder = Recorder()
    recorder.fail_campaigns = {2}
    poison_body, reason = POISONS[poison_kind]
    healthy = [budget_event(1), budget_event(3), budget_event(4)]
    records = [
        fifo_record(healthy[0], "healthy-1"),
        fifo_record(poison_body, "poison"),
        fifo_record(healthy[1], "healthy-2"),
        fifo_record(healthy[2], "healthy-3"),
    ]

    # WHEN SQS redelivers what failed until the poison record's last allowed receive
    failures = replay(recorder, records)

    # THEN the records behind the poison record wait while it can still succeed, and run after it
    # was moved on its last receive; each healthy record had its effect once, in order
    assert failures == [["poison", "healthy-2", "healthy-3"]] * 2 + [[]]
    assert [campaign for _, campaign, _ in recorder.effects] == [1, 3, 4]
    (moved,) = dead_lettered(dead_letter_queue)
    assert moved["Body"] == records[1]["body"]
    assert moved["Attributes"]["MessageGroupId"] == GROUP
    assert moved["Attributes"]["MessageDeduplicationId"] == "poison"
    failure_reason = moved["MessageAttributes"][constants.DEAD_LETTER_REASON_ATTRIBUTE]
    assert failure_reason["DataType"] == "String"
    assert reason in failure_reason["StringValue"]

    logs, metrics = stdout_json_lines(capsys.readouterr().out)
    (line,) = [
        m for m in logs if "moved to the dead-letter queue on its last receive" in m["message"]
    ]
    assert line["level"] == "ERROR"
    assert (line["message_id"], line["receive_count"]) == ("poison", str(MAX_RECEIVE_COUNT))
    assert reason in line["reason"]
    last = metrics[-1]
    assert metric(last, constants.METRIC_DEAD_LETTERED) == 1
    assert metric(last, constants.METRIC_FAILED) == 1  # a failed record for the alarms
    assert metric(last, constants.METRIC_PROCESSED) == 2
    assert [metric(blob, constants.METRIC_DEAD_LETTERED) for blob in metrics[:-1]] == [0, 0]


@pytest.mark.parametrize("poison_kind", ["key-part-missing", "payload-mismatch"])
def test_fifo_idempotency_failures_are_dead_lettered_on_the_last_receive(
    dead_letter_queue: str, monkeypatch: pytest.MonkeyPatch, poison_kind: str
) -> None:
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_KEY_PATH, "[detail.campaignId, detail.run]")
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH, "detail.newBudget")
    recorder = Recorder()
    recorder.handler(
        {"Records": [fifo_record(budget_event(5, detail={"run": 1}), "done")]},
        FakeLambdaContext(),
    )
    poison = (
        budget_event(6)  # no detail.run: a null key part
        if poison_kind == "key-part-missing"
        else budget_event(5, detail={"run": 1, "newBudget": 1.5})  # same key, other payload
    )
    records = [fifo_record(poison, "poison"), fifo_record(budget_event(7, detail={"run": 1}), "ok")]

    response = recorder.handler(
        {"Records": [with_receive_count(r, MAX_RECEIVE_COUNT) for r in records]},
        FakeLambdaContext(),
    )

    assert failed_ids(dict(response)) == []
    assert [campaign for _, campaign, _ in recorder.effects] == [5, 7]
    (moved,) = dead_lettered(dead_letter_queue)
    reason = moved["MessageAttributes"][constants.DEAD_LETTER_REASON_ATTRIBUTE]["StringValue"]
    expected = "(`detail.run`)" if poison_kind == "key-part-missing" else "Validation"
    assert expected in reason


def test_fifo_record_below_its_last_receive_is_left_to_the_queue(dead_letter_queue: str) -> None:
    recorder = Recorder()
    recorder.fail_campaigns = {2}
    records = [fifo_record(budget_event(2), "poison"), fifo_record(budget_event(3), "behind")]

    response = recorder.handler(
        {"Records": [with_receive_count(r, MAX_RECEIVE_COUNT - 1) for r in records]},
        FakeLambdaContext(),
    )

    assert failed_ids(dict(response)) == ["poison", "behind"]
    assert dead_lettered(dead_letter_queue) == []


def test_standard_queue_record_on_its_last_receive_is_left_to_the_redrive_policy(
    dead_letter_queue: str,
) -> None:
    recorder = Recorder()
    recorder.fail_campaigns = {2}
    record = sqs_record(budget_event(2), message_id="poison", receive_count=MAX_RECEIVE_COUNT)

    response = recorder.handler({"Records": [record]}, FakeLambdaContext())

    assert failed_ids(dict(response)) == ["poison"]
    assert dead_lettered(dead_letter_queue) == []


def test_fifo_record_in_progress_elsewhere_is_not_dead_lettered(
    dead_letter_queue: str, consumer_env: Any
) -> None:
    recorder = Recorder()
    event = budget_event(2)
    # Another invocation crashed holding the key: IN_PROGRESS until that invocation's deadline.
    recorder.crash_campaigns = {2}
    with pytest.raises(SystemExit):
        recorder.handler({"Records": [fifo_record(event, "first")]}, FakeLambdaContext(60_000))
    recorder.crash_campaigns = set()

    records = [fifo_record(event, "again"), fifo_record(budget_event(3), "behind")]
    response = recorder.handler(
        {"Records": [with_receive_count(r, MAX_RECEIVE_COUNT) for r in records]},
        FakeLambdaContext(),
    )

    # The in-progress failure is transient: the queue keeps the record (and its group's order).
    assert failed_ids(dict(response)) == ["again", "behind"]
    assert dead_lettered(dead_letter_queue) == []
    (item,) = consumer_env.scan(TableName="consumer-idempotency")["Items"]
    assert item["status"]["S"] == "INPROGRESS"


def test_fifo_record_stays_failed_when_the_dead_letter_queue_refuses_it(
    dead_letter_queue: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(constants.ENV_DEAD_LETTER_QUEUE_URL, dead_letter_queue + "-gone")
    recorder = Recorder()
    recorder.fail_campaigns = {2}
    records = [fifo_record(budget_event(2), "poison"), fifo_record(budget_event(3), "behind")]

    response = recorder.handler(
        {"Records": [with_receive_count(r, MAX_RECEIVE_COUNT) for r in records]},
        FakeLambdaContext(),
    )

    # SQS's own redrive then takes the record, as without the move.
    assert failed_ids(dict(response)) == ["poison", "behind"]
    assert recorder.effects == []
    logs, metrics = stdout_json_lines(capsys.readouterr().out)
    assert any(line["message"].startswith("Could not move the record") for line in logs)
    assert metric(metrics[-1], constants.METRIC_DEAD_LETTERED) == 0
    assert metric(metrics[-1], constants.METRIC_FAILED) == 2


def test_moved_record_keeps_its_message_attributes(dead_letter_queue: str) -> None:
    recorder = Recorder()
    recorder.fail_campaigns = {2}
    record = fifo_record(budget_event(2), "poison", receive_count=MAX_RECEIVE_COUNT)
    record["messageAttributes"] = {
        "traceparent": {
            "stringValue": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "binaryValue": None,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "signature": {
            "stringValue": None,
            "binaryValue": base64.b64encode(b"\x00\x01").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }

    response = recorder.handler({"Records": [record]}, FakeLambdaContext())

    assert failed_ids(dict(response)) == []
    (moved,) = dead_lettered(dead_letter_queue)
    attributes = moved["MessageAttributes"]
    assert attributes["traceparent"]["StringValue"].startswith("00-0af7")
    assert attributes["signature"]["BinaryValue"] == b"\x00\x01"
    assert constants.DEAD_LETTER_REASON_ATTRIBUTE in attributes
    assert json.loads(moved["Body"])["detail"]["campaignId"] == 2


@pytest.mark.parametrize(
    ("environ", "match"),
    [
        (
            {
                constants.ENV_DEAD_LETTER_QUEUE_URL: "https://q",
                constants.ENV_MAX_RECEIVE_COUNT: "0",
            },
            "EVENT_FANOUT_MAX_RECEIVE_COUNT must be a positive integer, got '0'",
        ),
        (
            {constants.ENV_DEAD_LETTER_QUEUE_URL: "https://q"},
            "EVENT_FANOUT_MAX_RECEIVE_COUNT must be set with EVENT_FANOUT_DEAD_LETTER_QUEUE_URL",
        ),
    ],
    ids=["not-positive", "missing"],
)
def test_fails_when_the_dead_letter_settings_are_incomplete(
    environ: dict[str, str], match: str
) -> None:
    with pytest.raises(RuntimeConfigError, match=match):
        ConsumerSettings.from_env("Audit", {"IDEMPOTENCY_TABLE_NAME": "t", **environ})


def test_dead_letter_settings_are_read_when_set() -> None:
    settings = ConsumerSettings.from_env(
        "Audit",
        {
            "IDEMPOTENCY_TABLE_NAME": "t",
            constants.ENV_DEAD_LETTER_QUEUE_URL: "https://sqs/dlq.fifo",
            constants.ENV_MAX_RECEIVE_COUNT: "5",
        },
    )
    assert (settings.dead_letter_queue_url, settings.max_receive_count) == (
        "https://sqs/dlq.fifo",
        5,
    )
    unset = ConsumerSettings.from_env("Audit", {"IDEMPOTENCY_TABLE_NAME": "t"})
    assert (unset.dead_letter_queue_url, unset.max_receive_count) == (None, None)
