"""The producer on the emulator: partial failures lose nothing, one correlation id end to end.

Two promises of ``event_fanout.producer`` checked where an actual bus routes to actual queues:

- With entries failing inside successful ``PutEvents`` responses (injected the way EventBridge
  fails them: the entry is not put on the bus, its result slot carries an ``ErrorCode``), every
  event reaches the rule's queue exactly once, and the one that fails for good is handed back.

The other, one correlation id from ``publish`` to every consumer's log lines, runs in
``tests/local/test_operations.py`` on its deployed reference stack.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from event_fanout.local.server import LocalAws
from event_fanout.local.session import session_for
from event_fanout.producer import EventEntry, EventPublisher

pytestmark = pytest.mark.e2e

#: (seq, attempt) -> None to let the entry through, else the ErrorCode to answer for it.
Fault = Callable[[int, int], str | None]


class FlakyEvents:
    """The emulator's ``put_events``, with chosen entries failing as EventBridge fails them.

    A failed entry is not forwarded (it never reaches the bus, as in AWS), and its slot of the
    response carries the error; the other entries go to the emulator in one request.
    """

    def __init__(self, client: Any, fault: Fault) -> None:
        self.client = client
        self.fault = fault
        self.attempts: Counter[int] = Counter()
        self.request_sizes: list[int] = []

    def put_events(self, *, Entries: Sequence[Any]) -> Any:  # noqa: N803
        self.request_sizes.append(len(Entries))
        results: list[dict[str, Any] | None] = [None] * len(Entries)
        forward: list[int] = []
        for position, entry in enumerate(Entries):
            seq = json.loads(entry["Detail"])["seq"]
            self.attempts[seq] += 1
            code = self.fault(seq, self.attempts[seq])
            if code is None:
                forward.append(position)
            else:
                results[position] = {"ErrorCode": code, "ErrorMessage": f"{code} (injected)"}
        if forward:
            response = self.client.put_events(Entries=[Entries[p] for p in forward])
            for position, result in zip(forward, response["Entries"], strict=True):
                results[position] = result
        return {
            "FailedEntryCount": sum("ErrorCode" in r for r in results if r is not None),
            "Entries": results,
        }


def injected(seq: int, attempt: int) -> str | None:
    if seq == 13:
        return "AccessDeniedException"  # permanent: never retried, handed back
    if seq % 7 == 0 and attempt <= 2:
        return "InternalFailure"  # fails twice, accepted at the third attempt
    if seq % 4 == 0 and attempt == 1:
        return "ThrottlingException"
    return None


def _receive_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300, WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)


def test_partial_failures_deliver_every_event_exactly_once(local_aws: LocalAws) -> None:
    session = session_for(local_aws.environment)
    events_client, sqs = session.client("events"), session.client("sqs")
    name = f"producer-{uuid.uuid4().hex[:8]}"
    events_client.create_event_bus(Name=name)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events_client.put_rule(
        Name=name, EventBusName=name, EventPattern=json.dumps({"source": ["producer.test"]})
    )
    events_client.put_targets(
        Rule=name, EventBusName=name, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    flaky = FlakyEvents(events_client, injected)
    publisher = EventPublisher(flaky, event_bus_name=name, sleep=lambda seconds: None)
    # ~40 KB details: six fit in a request, so requests close on size as well as on count.
    stream = [
        EventEntry("producer.test", "Numbered", {"seq": seq, "pad": "x" * 40_000})
        for seq in range(60)
    ]

    result = publisher.publish(stream)

    assert [(f.index, f.error_code, f.attempts) for f in result.failed] == [
        (13, "AccessDeniedException", 1)
    ]
    assert len(result.accepted) == 59
    assert max(flaky.attempts.values()) == 3
    assert flaky.request_sizes[:10] == [6] * 10  # first round: 60 events, six per 256 KB
    assert len(flaky.request_sizes) == result.requests
    messages = _receive_all(sqs, queue_url)
    delivered = Counter(json.loads(m["Body"])["detail"]["seq"] for m in messages)
    assert delivered == Counter(seq for seq in range(60) if seq != 13)  # each exactly once
    ids = {json.loads(m["Body"])["detail"]["seq"]: json.loads(m["Body"])["id"] for m in messages}
    assert all(ids[entry.index] == entry.event_id for entry in result.accepted)
    assert {json.loads(m["Body"])["detail"]["correlationId"] for m in messages} == {
        result.correlation_id
    }
