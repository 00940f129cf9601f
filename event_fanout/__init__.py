"""cdk-event-fanout: EventBridge -> SQS -> Lambda fan-out constructs with production defaults.

The construct classes are re-exported lazily (PEP 562 module ``__getattr__``) because the same
package ships inside the consumer Lambdas' layer, where ``aws_cdk`` is not installed: importing
``event_fanout.runtime`` there must not import a single construct.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from event_fanout._lazy_exports import lazy_exports

_EXPORTS: dict[str, str] = {
    "__version__": "event_fanout._version",
    "EventFanout": "event_fanout.constructs.fanout",
    "FanoutConsumer": "event_fanout.constructs.consumer",
    "IdempotencyTable": "event_fanout.constructs.idempotency_table",
    "ConsumerAlarms": "event_fanout.constructs.consumer_alarms",
    "AlarmOptions": "event_fanout.constructs.alarm_options",
    "ConsumerAlarmOptions": "event_fanout.constructs.alarm_options",
    "RuntimeLayer": "event_fanout.constructs.runtime_layer",
    "Idempotency": "event_fanout.constructs.options",
    "ConsumerOptions": "event_fanout.constructs.options",
    "ConsumerProps": "event_fanout.constructs.options",
    "EventFanoutConfigError": "event_fanout.errors",
    "CentralBus": "event_fanout.constructs.cross_account",
    "EventForwarder": "event_fanout.constructs.cross_account",
}

__all__ = [
    "AlarmOptions",
    "CentralBus",
    "ConsumerAlarmOptions",
    "ConsumerAlarms",
    "ConsumerOptions",
    "ConsumerProps",
    "EventFanout",
    "EventFanoutConfigError",
    "EventForwarder",
    "FanoutConsumer",
    "Idempotency",
    "IdempotencyTable",
    "RuntimeLayer",
]

if TYPE_CHECKING:
    from event_fanout._version import __version__ as __version__
    from event_fanout.constructs.alarm_options import AlarmOptions, ConsumerAlarmOptions
    from event_fanout.constructs.consumer import FanoutConsumer
    from event_fanout.constructs.consumer_alarms import ConsumerAlarms
    from event_fanout.constructs.cross_account import CentralBus, EventForwarder
    from event_fanout.constructs.fanout import EventFanout
    from event_fanout.constructs.idempotency_table import IdempotencyTable
    from event_fanout.constructs.options import ConsumerOptions, ConsumerProps, Idempotency
    from event_fanout.constructs.runtime_layer import RuntimeLayer
    from event_fanout.errors import EventFanoutConfigError


__getattr__ = lazy_exports(globals(), _EXPORTS)
