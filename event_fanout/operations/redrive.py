"""Move dead-lettered messages back where they can be processed, losing none.

Two ways, one result:

- **Move task** (``StartMessageMoveTask``): SQS moves a DLQ's messages back to their source
  queue itself, at a rate it is given; progress comes from ``ListMessageMoveTasks``. Used
  whenever SQS offers it for the queue.
- **Copy**: receive a batch, send it to the destination, delete from the source only the
  messages whose send succeeded. At least once, never lost: a copy interrupted at any point
  leaves each message in the source (visible again after the receive's visibility timeout) or
  in the destination, or, for the batch in flight at a kill, in both, and the consumers'
  idempotency skips the repeat. Running it again finishes the job. Used where the move task
  is unavailable, and for the fan-out's undeliverable-events queue, which is EventBridge's
  dead-letter queue rather than an SQS-source DLQ: its events go straight to the queue of the
  consumer whose target failed (the ``TARGET_ARN`` attribute EventBridge sets).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from event_fanout.operations.discovery import Fanout, Queue

__all__ = ["RedriveResult", "queue_depth", "redrive", "redrive_undeliverable"]

Method = Literal["auto", "move-task", "copy"]
#: (moved so far, total to move or None) after each step.
Progress = Callable[[int, int | None], None]

#: Error codes with which SQS refuses a move task for a queue (not an SQS DLQ, or no support).
_MOVE_TASK_UNAVAILABLE = frozenset(
    {
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
        "InvalidParameterValue",
        "InvalidAddress",
    }
)
_TASK_DONE = frozenset({"COMPLETED", "CANCELLED", "FAILED"})


@dataclass(frozen=True)
class RedriveResult:
    """What a redrive did."""

    method: str
    moved: int
    #: Messages whose send failed (left in the source, for another run).
    failed: int = 0
    #: Undeliverable events whose consumer could not be told (left in the queue).
    skipped: int = 0
    #: A move task's final status (COMPLETED, FAILED, CANCELLED) and reason, if it failed.
    status: str = "COMPLETED"
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``--json``."""
        return asdict(self)


def queue_depth(sqs: Any, queue: Queue) -> dict[str, int]:
    """Visible and in-flight messages of ``queue``."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return {
        "visible": int(attributes["ApproximateNumberOfMessages"]),
        "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    }


def redrive(
    sqs: Any,
    source: Queue,
    destination: Queue,
    *,
    method: Method = "auto",
    max_per_second: int | None = None,
    on_progress: Progress | None = None,
    visibility_timeout: int = 30,
    poll_seconds: float = 1.0,
) -> RedriveResult:
    """Move every message of ``source`` (a DLQ) to ``destination`` (its source queue).

    ``auto`` uses SQS's move task and falls back to a copy where SQS refuses it.
    """
    if method in ("auto", "move-task"):
        try:
            return _move_task(sqs, source, destination, max_per_second, on_progress, poll_seconds)
        except ClientError as error:
            if (
                method == "move-task"
                or error.response["Error"]["Code"] not in _MOVE_TASK_UNAVAILABLE
            ):
                raise
    return _copy(
        sqs,
        source,
        lambda _message: destination,
        max_per_second=max_per_second,
        on_progress=on_progress,
        visibility_timeout=visibility_timeout,
    )


def redrive_undeliverable(
    sqs: Any,
    fanout: Fanout,
    *,
    max_per_second: int | None = None,
    on_progress: Progress | None = None,
    visibility_timeout: int = 30,
) -> RedriveResult:
    """Send the fan-out's undeliverable events to the queues EventBridge failed to reach.

    A message whose ``TARGET_ARN`` is not one of the fan-out's consumer queues stays where it
    is, counted in ``skipped``.
    """
    queues = {consumer.queue.arn: consumer.queue for consumer in fanout.consumers}

    def destination(message: dict[str, Any]) -> Queue | None:
        target = (message.get("MessageAttributes") or {}).get("TARGET_ARN", {})
        return queues.get(str(target.get("StringValue", "")))

    return _copy(
        sqs,
        fanout.undeliverable_events_queue,
        destination,
        max_per_second=max_per_second,
        on_progress=on_progress,
        visibility_timeout=visibility_timeout,
    )


def _move_task(
    sqs: Any,
    source: Queue,
    destination: Queue,
    max_per_second: int | None,
    on_progress: Progress | None,
    poll_seconds: float,
) -> RedriveResult:
    request: dict[str, Any] = {"SourceArn": source.arn, "DestinationArn": destination.arn}
    if max_per_second is not None:
        request["MaxNumberOfMessagesPerSecond"] = max_per_second
    handle = sqs.start_message_move_task(**request)["TaskHandle"]
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=source.arn, MaxResults=10)["Results"]
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
        moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
        total = task.get("ApproximateNumberOfMessagesToMove")
        if on_progress is not None:
            on_progress(moved, None if total is None else int(total))
        status = str(task.get("Status", "COMPLETED"))
        if status in _TASK_DONE:
            return RedriveResult(
                method="move-task", moved=moved, status=status, reason=task.get("FailureReason")
            )
        time.sleep(poll_seconds)


def _copy(
    sqs: Any,
    source: Queue,
    destination_for: Callable[[dict[str, Any]], Queue | None],
    *,
    max_per_second: int | None,
    on_progress: Progress | None,
    visibility_timeout: int,
) -> RedriveResult:
    """Receive, send, delete what was sent; until the source has nothing left to give.

    A message whose send failed, or whose destination is unknown, is left in the source and
    not tried again in this run.
    """
    moved = 0
    #: Message id -> receipt handle of the messages left in place (made visible at the end).
    skipped: dict[str, str] = {}
    unsent: set[str] = set()
    started = time.monotonic()
    total = sum(queue_depth(sqs, source).values())
    while True:
        messages = sqs.receive_message(
            QueueUrl=source.url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility_timeout,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        messages = [m for m in messages if m["MessageId"] not in skipped.keys() | unsent]
        if not messages:
            depth = queue_depth(sqs, source)
            # Messages a killed run had received come back after their visibility timeout.
            if depth["visible"] + depth["in_flight"] <= len(skipped.keys() | unsent):
                break
            time.sleep(1)
            continue
        by_destination: dict[str, tuple[Queue, list[dict[str, Any]]]] = {}
        for message in messages:
            target = destination_for(message)
            if target is None:
                skipped[message["MessageId"]] = message["ReceiptHandle"]
                continue
            by_destination.setdefault(target.url, (target, []))[1].append(message)
        for target, batch in by_destination.values():
            sent = _send(sqs, target, batch)
            sent_ids = {m["MessageId"] for m in sent}
            unsent.update(m["MessageId"] for m in batch if m["MessageId"] not in sent_ids)
            _delete(sqs, source, sent)
            moved += len(sent)
        if on_progress is not None:
            on_progress(moved, total)
        if max_per_second:
            # Hold the rate: the next batch starts no earlier than moved / rate seconds in.
            time.sleep(max(0.0, moved / max_per_second - (time.monotonic() - started)))
    for handle in skipped.values():
        sqs.change_message_visibility(
            QueueUrl=source.url, ReceiptHandle=handle, VisibilityTimeout=0
        )
    return RedriveResult(method="copy", moved=moved, failed=len(unsent), skipped=len(skipped))


def _send(sqs: Any, target: Queue, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send ``batch`` to ``target``; return the messages SQS accepted."""
    entries = []
    for index, message in enumerate(batch):
        entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
        attributes = {
            name: {
                k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        if attributes:
            entry["MessageAttributes"] = attributes
        if target.name.endswith(".fifo"):
            system = message.get("Attributes", {})
            entry["MessageGroupId"] = system.get("MessageGroupId") or "redrive"
            # A copy repeated within SQS's five minutes (after a kill) is stored once.
            entry["MessageDeduplicationId"] = message["MessageId"]
        entries.append(entry)
    response = sqs.send_message_batch(QueueUrl=target.url, Entries=entries)
    accepted = {item["Id"] for item in response.get("Successful", [])}
    return [message for index, message in enumerate(batch) if str(index) in accepted]


def _delete(sqs: Any, source: Queue, messages: list[dict[str, Any]]) -> None:
    if not messages:
        return
    sqs.delete_message_batch(
        QueueUrl=source.url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ],
    )
