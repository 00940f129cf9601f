"""Reporting sync: keep the latest budget of each campaign in the reporting table.

Out-of-order safe: events can arrive late (a retry, a redrive from the DLQ), so a write only
lands when its version is newer than the stored one. A late older version is skipped, not failed:
retrying it could never succeed and would only end in the dead-letter queue.

Environment: ``BUDGETS_TABLE_NAME`` plus what the FanoutConsumer construct sets (the stack keys
idempotency on ``[detail.campaignId, detail.version]``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from event_fanout.runtime import EventBridgeEvent, fanout_consumer, logger, per_thread

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from event_fanout.stacks.handlers.budget_events import BudgetChanged, BudgetChangedDetail
else:  # the handlers' directory is the Lambda's code root: the module is top-level there
    from budget_events import BudgetChanged, BudgetChangedDetail

BUDGETS_TABLE_ENV = "BUDGETS_TABLE_NAME"


@per_thread
def budgets_table(name: str) -> Table:
    """Return the reporting table, built on first use (no AWS client at import)."""
    return boto3.resource("dynamodb").Table(name)


@fanout_consumer(name="ReportingSync", event_type=BudgetChanged)
def handler(event: EventBridgeEvent[BudgetChangedDetail]) -> None:
    """Write the campaign's new budget unless a newer version is already stored."""
    change = event.detail
    table = budgets_table(os.environ[BUDGETS_TABLE_ENV])
    try:
        table.put_item(
            Item={
                "campaignId": str(change.campaign_id),
                "companyId": change.company_id,
                "profileId": change.profile_id,
                "budget": change.new_budget,
                "version": change.version,
                "eventId": event.id,
                "updatedAt": event.time.isoformat(),
            },
            ConditionExpression="attribute_not_exists(campaignId) OR version < :version",
            ExpressionAttributeValues={":version": change.version},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        stored: Any = exc.response.get("Item", {}).get("version", {}).get("N")  # type: ignore[attr-defined]
        logger.info(
            "Stale budget change skipped: a newer or equal version is already stored",
            extra={
                "campaign_id": change.campaign_id,
                "incoming_version": change.version,
                "stored_version": int(stored) if stored is not None else None,
            },
        )
        return
    logger.info(
        "Budget synced",
        extra={
            "campaign_id": change.campaign_id,
            "version": change.version,
            "budget": str(change.new_budget),
        },
    )
