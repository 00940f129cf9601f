"""The orders app's consumers: each prints what it did (its log is the effect a test reads)."""

from __future__ import annotations

from pydantic import BaseModel

from event_fanout.runtime import EventBridgeEvent, fanout_consumer


class Order(BaseModel):
    """``detail`` of ``shop.orders`` / ``OrderPlaced``."""

    orderId: str  # noqa: N815 (the event's field name)
    amount: int


@fanout_consumer(name="Billing")
def billing(event: EventBridgeEvent[Order]) -> None:
    """Charge the order once; an amount below zero is a bug upstream (the record fails)."""
    if event.detail.amount < 0:
        raise ValueError(f"order {event.detail.orderId} has a negative amount")
    print(f"billed {event.detail.orderId}: {event.detail.amount}")


@fanout_consumer(name="Shipping")
def shipping(event: EventBridgeEvent[Order]) -> None:
    """Ship in the order the orders were placed (a FIFO queue)."""
    print(f"shipping {event.detail.orderId}")


@fanout_consumer(name="Audit")
def audit(event: EventBridgeEvent[dict[str, object]]) -> None:
    """Record every shop.orders event, whatever its type."""
    print(f"audited {event.detail_type} {event.id}")


@fanout_consumer(name="DailyTotals")
def daily_totals(event: EventBridgeEvent[Order]) -> None:
    """Add the order to the day's total."""
    print(f"total += {event.detail.amount}")
