"""The consumers' handler: one order, its effect (here: a log line)."""

from typing import Any

from event_fanout.runtime import EventBridgeEvent, fanout_consumer, logger


@fanout_consumer
def handler(event: EventBridgeEvent[dict[str, Any]]) -> None:
    logger.info("Order handled", extra={"order": event.detail.get("orderId")})
