"""Notification: record the message that would be sent for a large budget change.

Sending is simulated by writing the message to the notifications table. The notification id is
derived from the EventBridge event id and written conditionally, so one event can never produce
two notifications, even past the idempotency record's expiry.

Environment: ``NOTIFICATIONS_TABLE_NAME`` plus what the FanoutConsumer construct sets.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from event_fanout.runtime import EventBridgeEvent, fanout_consumer, logger, per_thread

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from event_fanout.stacks.handlers.budget_events import BudgetChanged
else:  # the handlers' directory is the Lambda's code root: the module is top-level there
    from budget_events import BudgetChanged

NOTIFICATIONS_TABLE_ENV = "NOTIFICATIONS_TABLE_NAME"


class BudgetChange(BaseModel):
    """The part of ``CampaignBudgetChanged``'s detail a notification needs."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    campaign_id: int
    old_budget: Decimal
    new_budget: Decimal


@per_thread
def notifications_table(name: str) -> Table:
    """Return the notifications table, created on first use (no AWS client at import)."""
    return boto3.resource("dynamodb").Table(name)


def notification_id(event_id: str) -> str:
    """Derive the id of the one notification an event may cause."""
    return f"budget-changed:{event_id}"


def message_text(change: BudgetChange) -> str:
    """Compose the text a campaign owner would receive."""
    return (
        f"Budget of campaign {change.campaign_id} changed "
        f"from {change.old_budget:.2f} to {change.new_budget:.2f}"
    )


@fanout_consumer(
    name="Notification",
    event_type=BudgetChanged,
    # Its own, narrower model: what a notification needs of the event (versions still checked).
    model=EventBridgeEvent[BudgetChange],
)
def handler(event: EventBridgeEvent[BudgetChange]) -> None:
    """Record the notification for this budget change, once."""
    change = event.detail
    table = notifications_table(os.environ[NOTIFICATIONS_TABLE_ENV])
    text = message_text(change)
    try:
        table.put_item(
            Item={
                "notificationId": notification_id(event.id),
                "campaignId": str(change.campaign_id),
                "message": text,
                "newBudget": change.new_budget,
                "eventId": event.id,
                "createdAt": datetime.now(UTC).isoformat(),
            },
            ConditionExpression="attribute_not_exists(notificationId)",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        logger.info("Notification already recorded; not sent again")
        return
    logger.info("Notification recorded", extra={"notification_message": text})
