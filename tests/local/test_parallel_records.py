"""A batch's records on 8 threads, against the emulator's DynamoDB: one effect per key, exact
failures, FIFO groups in order, each log line with its own record's ids.

The handler runs in this process (as Lambda runs it), its idempotency table in the moto server
the session started: the runtime's boto3 clients cross a real HTTP connection per call, as in
AWS, so records overlap on I/O.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from event_fanout.local.server import LocalAws
from event_fanout.local.session import session_for
from event_fanout.runtime import EventBridgeEvent, constants, fanout_consumer
from event_fanout.runtime.testing import (
    FakeLambdaContext,
    make_eventbridge_event,
    reset_runtime_caches,
    sqs_event,
    sqs_record,
)

pytestmark = pytest.mark.e2e

FIFO_QUEUE = "arn:aws:sqs:eu-west-1:123456789012:orders.fifo"
HANDLER_SECONDS = 0.2


class Effects:
    """What the handler did, from every thread: calls in order, and when each ran."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[str, int]] = []
        self.spans: list[tuple[float, float]] = []

    def record(self, key: str, seq: int, started: float) -> None:
        with self.lock:
            self.calls.append((key, seq))
            self.spans.append((started, time.monotonic()))

    def most_at_once(self) -> int:
        """The most calls that overlapped in time."""
        edges = sorted([(s, 1) for s, _ in self.spans] + [(e, -1) for _, e in self.spans])
        running = peak = 0
        for _, step in edges:
            running += step
            peak = max(peak, running)
        return peak


@pytest.fixture
def consumer_table(local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh idempotency table on the emulator, and the runtime's environment pointing to it."""
    name = f"parallel-{uuid.uuid4().hex[:8]}"
    dynamodb = session_for(local_aws.environment).client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for variable, value in local_aws.environment.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_TABLE_NAME, name)
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_KEY_PATH, "detail.orderId")
    monkeypatch.setenv(constants.ENV_CONSUMER_NAME, "Parallel")
    monkeypatch.delenv(constants.ENV_MAX_WORKERS, raising=False)
    reset_runtime_caches()
    yield name
    reset_runtime_caches()
    dynamodb.delete_table(TableName=name)


def _handler(effects: Effects, failing: set[str]) -> Any:
    @fanout_consumer(name="Parallel", max_workers=8)
    def handle(event: EventBridgeEvent[dict[str, Any]]) -> None:
        started = time.monotonic()
        time.sleep(HANDLER_SECONDS)  # the handler's own I/O
        if event.detail["orderId"] in failing:
            raise RuntimeError(f"injected failure of {event.detail['orderId']}")
        effects.record(event.detail["orderId"], event.detail["seq"], started)

    return handle


def _order(order_id: str, seq: int) -> dict[str, Any]:
    return make_eventbridge_event({"orderId": order_id, "seq": seq}, source="shop.orders")


def test_duplicate_keys_give_one_effect_and_only_the_failures_are_reported(
    consumer_table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a batch of 10: orders o0..o4, each delivered twice (two events, one key), and o3
    # failing in its handler
    effects = Effects()
    handler = _handler(effects, failing={"o3"})
    records = [
        sqs_record(_order(f"o{n}", copy), message_id=f"m{n}-{copy}")
        for copy in range(2)
        for n in range(5)
    ]

    # WHEN the batch runs on up to 8 threads
    started = time.monotonic()
    response = handler(sqs_event(*records), FakeLambdaContext())
    elapsed = time.monotonic() - started

    # THEN each healthy key had one effect, o3's two records are exactly the failures, and the
    # keys ran side by side (a sequential batch would take at least 10 handler times)
    assert Counter(key for key, _ in effects.calls) == {"o0": 1, "o1": 1, "o2": 1, "o4": 1}
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == [
        "m3-0",
        "m3-1",
    ]
    assert effects.most_at_once() >= 2
    assert elapsed < 6 * HANDLER_SECONDS, elapsed
    # AND every log line names its own record: message id and event id agree with the batch's
    bodies = {r["messageId"]: json.loads(r["body"]) for r in records}
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' not in line
    ]
    outcomes = [line for line in lines if line.get("message_id") in bodies]
    assert len({line["message_id"] for line in outcomes}) == 10
    for line in outcomes:
        assert line["event_id"] == bodies[line["message_id"]]["id"], line
    skipped = [line for line in outcomes if line["message"].startswith("Duplicate event skipped")]
    assert len(skipped) == 4


def test_fifo_groups_keep_their_order_and_a_failure_stops_only_its_group(
    consumer_table: str,
) -> None:
    # GIVEN three message groups of three orders each; the second order of group B fails
    effects = Effects()
    handler = _handler(effects, failing={"B-1"})
    records = [
        sqs_record(
            _order(f"{group}-{seq}", seq),
            message_id=f"{group}{seq}",
            queue_arn=FIFO_QUEUE,
            message_group_id=group,
        )
        for seq in range(3)
        for group in "ABC"
    ]

    # WHEN the batch runs
    response = handler(sqs_event(*records), FakeLambdaContext())

    # THEN A and C ran every order, in order; B stopped at its failure, its third not run
    ran = [key for key, _ in effects.calls]
    for group in "AC":
        assert [k for k in ran if k.startswith(group)] == [f"{group}-0", f"{group}-1", f"{group}-2"]
    assert [k for k in ran if k.startswith("B")] == ["B-0"]
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["B1", "B2"]
    # AND the groups ran side by side
    assert effects.most_at_once() >= 2
