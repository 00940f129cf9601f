"""Build Lambda-shaped inputs for consumer handlers: SQS batches of EventBridge events, a context.

For unit tests, the local event-source runner and benchmarks. Like the rest of the runtime it
needs no aws_cdk, so it can run wherever the handlers run.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from event_fanout.runtime.dead_letter import reset_dead_letter_queues
from event_fanout.runtime.idempotency import reset_runners

__all__ = [
    "FakeLambdaContext",
    "make_eventbridge_event",
    "reset_runtime_caches",
    "sqs_event",
    "sqs_record",
]

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "eu-west-1"


def make_eventbridge_event(
    detail: Mapping[str, Any],
    *,
    source: str = "ads.campaigns",
    detail_type: str = "CampaignBudgetChanged",
    event_id: str | None = None,
    time: datetime | str | None = None,
    account: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
    resources: Iterable[str] = (),
) -> dict[str, Any]:
    """Build the event EventBridge would put in the SQS message body.

    Parameters
    ----------
    detail
        The event's ``detail`` object.
    source, detail_type
        Routing fields; default to the reference scenario (``ads.campaigns`` /
        ``CampaignBudgetChanged``).
    event_id
        The EventBridge event id; a fresh UUID when omitted. Reuse one to model a duplicate
        delivery.
    time
        Event time; now (UTC) when omitted.
    account, region, resources
        The remaining envelope fields.

    Returns
    -------
    dict[str, Any]
        The event, with EventBridge's key names (``detail-type``).

    Examples
    --------
    >>> event = make_eventbridge_event({"campaignId": 1}, event_id="e-1")
    >>> event["id"], event["detail-type"], event["detail"]
    ('e-1', 'CampaignBudgetChanged', {'campaignId': 1})

    """
    if time is None:
        time = datetime.now(UTC)
    when = time if isinstance(time, str) else time.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": when,
        "region": region,
        "resources": list(resources),
        "detail": dict(detail),
    }


def sqs_record(
    body: Mapping[str, Any] | str,
    *,
    message_id: str | None = None,
    receive_count: int = 1,
    queue_arn: str = f"arn:aws:sqs:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:consumer-queue",
    message_group_id: str | None = None,
) -> dict[str, Any]:
    """Build one record of the SQS event Lambda's event source mapping sends.

    Parameters
    ----------
    body
        An EventBridge event (serialized to JSON) or a raw body string (to model poison messages).
    message_id
        The SQS message id; a fresh UUID when omitted, as every delivery gets its own.
    receive_count
        ``ApproximateReceiveCount``; more than 1 models a redelivery.
    queue_arn
        ``eventSourceARN`` of the record (end it in ``.fifo`` for a FIFO queue).
    message_group_id
        ``MessageGroupId`` of a FIFO record.

    Returns
    -------
    dict[str, Any]
        The record.

    Examples
    --------
    >>> sqs_record("not json", message_id="m-1")["body"]
    'not json'

    """
    text = body if isinstance(body, str) else json.dumps(body)
    now_ms = str(int(time.time() * 1000))
    attributes = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": now_ms,
        "SenderId": "AIDAEVENTBRIDGE",
        "ApproximateFirstReceiveTimestamp": now_ms,
    }
    if message_group_id is not None:
        attributes["MessageGroupId"] = message_group_id
        attributes["MessageDeduplicationId"] = hashlib.sha256(text.encode()).hexdigest()
        attributes["SequenceNumber"] = str(time.time_ns())
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"receipt-{uuid.uuid4()}",
        "body": text,
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def sqs_event(*bodies: Mapping[str, Any] | str | dict[str, Any]) -> dict[str, Any]:
    """Build the ``{"Records": [...]}`` event of one SQS batch.

    Each argument is an EventBridge event, a raw body string, or an already built record (a
    mapping with a ``messageId``, e.g. from :func:`sqs_record`), so tests can fix message ids.

    Examples
    --------
    >>> batch = sqs_event(make_eventbridge_event({}), "not json")
    >>> len(batch["Records"])
    2

    """
    records = [
        dict(body) if isinstance(body, Mapping) and "messageId" in body else sqs_record(body)
        for body in bodies
    ]
    return {"Records": records}


class FakeLambdaContext(LambdaContext):
    """A Lambda context whose remaining time counts down from construction, like the real one.

    Parameters
    ----------
    remaining_time_ms
        Time left at construction; in-progress idempotency records expire after it.
    function_name
        ``function_name``, also used in the ARN and log group.

    Examples
    --------
    >>> context = FakeLambdaContext(remaining_time_ms=30_000)
    >>> 29_000 < context.get_remaining_time_in_millis() <= 30_000
    True

    """

    def __init__(self, remaining_time_ms: int = 30_000, function_name: str = "consumer") -> None:
        self._function_name = function_name
        self._function_version = "$LATEST"
        self._invoked_function_arn = (
            f"arn:aws:lambda:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:function:{function_name}"
        )
        self._memory_limit_in_mb = 256
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = f"/aws/lambda/{function_name}"
        self._log_stream_name = "2024/01/01/[$LATEST]local"
        self._deadline = time.monotonic() + remaining_time_ms / 1000

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        """Milliseconds left before this fake invocation would time out."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def reset_runtime_caches() -> None:
    """Drop cached idempotency runners, dead-letter queues and their boto3 clients.

    Call it between tests that start and stop moto mocks or change the idempotency environment,
    so the next invocation builds a client against the current endpoint.

    Examples
    --------
    >>> reset_runtime_caches()

    """
    reset_runners()
    reset_dead_letter_queues()
