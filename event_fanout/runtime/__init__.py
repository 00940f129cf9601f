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

from typing import TYPE_CHECKING

from event_fanout._lazy_exports import lazy_exports

# Exported lazily (PEP 562): the construct side imports ``event_fanout.runtime.constants`` at
# synth time, and an eager import here would load Powertools, boto3 and pydantic into every
# ``cdk synth`` (a third of a second) for names only a Lambda uses.
_EXPORTS: dict[str, str] = {
    "ConsumerSettings": "event_fanout.runtime.settings",
    "EventBridgeEvent": "event_fanout.runtime.events",
    "EventFanoutRuntimeError": "event_fanout.runtime.exceptions",
    "FanoutHandler": "event_fanout.runtime.consumer",
    "MalformedEventError": "event_fanout.runtime.exceptions",
    "RuntimeConfigError": "event_fanout.runtime.exceptions",
    "fanout_consumer": "event_fanout.runtime.consumer",
    "logger": "event_fanout.runtime.observability",
    "parse_sqs_body": "event_fanout.runtime.events",
    "per_thread": "event_fanout.runtime.clients",
    "UnacceptedEventVersionError": "event_fanout.runtime.exceptions",
}

__all__ = [
    "ConsumerSettings",
    "EventBridgeEvent",
    "EventFanoutRuntimeError",
    "FanoutHandler",
    "MalformedEventError",
    "RuntimeConfigError",
    "UnacceptedEventVersionError",
    "fanout_consumer",
    "logger",
    "parse_sqs_body",
    "per_thread",
]

if TYPE_CHECKING:
    from event_fanout.runtime.clients import per_thread
    from event_fanout.runtime.consumer import FanoutHandler, fanout_consumer
    from event_fanout.runtime.events import EventBridgeEvent, parse_sqs_body
    from event_fanout.runtime.exceptions import (
        EventFanoutRuntimeError,
        MalformedEventError,
        RuntimeConfigError,
        UnacceptedEventVersionError,
    )
    from event_fanout.runtime.observability import logger
    from event_fanout.runtime.settings import ConsumerSettings


__getattr__ = lazy_exports(globals(), _EXPORTS)
