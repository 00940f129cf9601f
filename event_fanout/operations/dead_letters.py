"""Look into a dead-letter queue without consuming it: what failed, when, how often, and why.

``peek`` receives up to ``limit`` messages with a short visibility timeout (so one peek does not
see a message twice), then makes every one of them visible again at once: nothing is deleted
and nothing waits. The DLQ's own receive count goes up by one per peek (a DLQ has no redrive
policy, so nothing moves because of it). On a FIFO DLQ a peek holds a message group for the
duration of the peek, as any receive does.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any

from event_fanout.runtime.constants import DEAD_LETTER_REASON_ATTRIBUTE

__all__ = ["DeadLetter", "peek"]

#: Long enough for a peek of a few hundred messages to page through without repeats.
_PEEK_VISIBILITY_SECONDS = 30
#: A body excerpt's length, in characters.
EXCERPT_LENGTH = 120
#: Message attributes EventBridge sets on the events it could not deliver (the fan-out's
#: undeliverable-events queue): why, and to which rule and target.
EVENTBRIDGE_ERROR_ATTRIBUTES = ("ERROR_CODE", "ERROR_MESSAGE", "RULE_ARN", "TARGET_ARN")


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message, as an operator reads it."""

    message_id: str
    event_id: str | None
    source: str | None
    detail_type: str | None
    #: How often the message was received, from the queue it is in now.
    receive_count: int
    #: When it was first sent (for a standard queue's DLQ: to the source queue).
    sent_at: str | None
    #: Why it failed, when known: the runtime's failure reason or EventBridge's error.
    reason: str | None
    excerpt: str

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``--json``."""
        return asdict(self)


def peek(sqs: Any, queue_url: str, *, limit: int = 10) -> list[DeadLetter]:
    """Up to ``limit`` messages of the queue, left in it (visible again when this returns)."""
    seen: dict[str, dict[str, Any]] = {}
    try:
        while len(seen) < limit:
            response = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=_PEEK_VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = response.get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in seen]
            for message in messages:
                seen.setdefault(message["MessageId"], message)
            if not fresh:
                break
    finally:
        _release(sqs, queue_url, list(seen.values()))
    return [_dead_letter(message) for message in seen.values()]


def _release(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(chunk)
            ],
        )


def _dead_letter(message: dict[str, Any]) -> DeadLetter:
    body = message.get("Body", "")
    try:
        event = json.loads(body)
    except json.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        event = {}
    attributes = message.get("Attributes", {})
    custom = {
        name: value.get("StringValue")
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    reason = custom.get(DEAD_LETTER_REASON_ATTRIBUTE)
    if reason is None and custom.get("ERROR_CODE"):
        reason = f"{custom['ERROR_CODE']}: {custom.get('ERROR_MESSAGE') or ''}".strip()
    detail = event.get("detail")
    excerpt = json.dumps(detail, separators=(",", ":")) if detail is not None else body
    sent = attributes.get("SentTimestamp")
    return DeadLetter(
        message_id=message["MessageId"],
        event_id=event.get("id"),
        source=event.get("source"),
        detail_type=event.get("detail-type"),
        receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
        sent_at=(
            dt.datetime.fromtimestamp(int(sent) / 1000, dt.UTC).isoformat(timespec="seconds")
            if sent
            else None
        ),
        reason=reason,
        excerpt=excerpt if len(excerpt) <= EXCERPT_LENGTH else excerpt[: EXCERPT_LENGTH - 1] + "…",
    )
