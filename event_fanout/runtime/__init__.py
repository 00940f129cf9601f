"""Consumer runtime: idempotent, partial-batch handling of EventBridge events delivered by SQS.

Runs inside the consumer Lambdas (shipped as a layer next to the AWS Powertools layer), so it
imports only the standard library, boto3, pydantic and aws-lambda-powertools, never aws_cdk.

Examples
--------
>>> from event_fanout.runtime import EventBridgeEvent, fanout_consumer, logger
>>> @fanout_consumer
... def handler(event: EventBridgeEvent[dict]) -> None:
...     logger.info("got", extra={"detail": event.detail})

"""

from __future__ import annotations

from event_fanout.runtime.consumer import FanoutConsumer, fanout_consumer
from event_fanout.runtime.events import EventBridgeEvent, parse_sqs_body
from event_fanout.runtime.exceptions import (
    EventFanoutRuntimeError,
    MalformedEventError,
    RuntimeConfigError,
)
from event_fanout.runtime.observability import logger
from event_fanout.runtime.settings import ConsumerSettings

__all__ = [
    "ConsumerSettings",
    "EventBridgeEvent",
    "EventFanoutRuntimeError",
    "FanoutConsumer",
    "MalformedEventError",
    "RuntimeConfigError",
    "fanout_consumer",
    "logger",
    "parse_sqs_body",
]
