"""Audit log: append every ``ads.campaigns`` event, as received, to the audit table.

Append-only: the write is conditional on the event id being new, so even a duplicate that
reaches the handler after its idempotency record expired cannot rewrite history.

Environment: ``AUDIT_TABLE_NAME`` plus what the FanoutConsumer construct sets.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from event_fanout.runtime import EventBridgeEvent, fanout_consumer, logger, per_thread

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

AUDIT_TABLE_ENV = "AUDIT_TABLE_NAME"


@per_thread
def audit_table(name: str) -> Table:
    """Return the audit table, created on first use (no AWS client at import, one per container)."""
    return boto3.resource("dynamodb").Table(name)


@fanout_consumer(name="AuditLog")
def handler(event: EventBridgeEvent[dict[str, Any]]) -> None:
    """Record the event's envelope and its detail (kept verbatim as a JSON string)."""
    table = audit_table(os.environ[AUDIT_TABLE_ENV])
    try:
        table.put_item(
            Item={
                "eventId": event.id,
                "source": event.source,
                "detailType": event.detail_type,
                "time": event.time.isoformat(),
                "detail": json.dumps(event.detail, sort_keys=True, separators=(",", ":")),
                "recordedAt": datetime.now(UTC).isoformat(),
            },
            ConditionExpression="attribute_not_exists(eventId)",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        logger.info("Audit record already present; left unchanged")
        return
    logger.info("Audit record appended")
