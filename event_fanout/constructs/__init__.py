"""Reusable constructs of the fan-out, one per module (imports aws_cdk: never used in Lambda)."""

from event_fanout.constructs.alarm_options import AlarmOptions, ConsumerAlarmOptions
from event_fanout.constructs.consumer import FanoutConsumer
from event_fanout.constructs.consumer_alarms import ConsumerAlarms
from event_fanout.constructs.fanout import EventFanout
from event_fanout.constructs.idempotency_table import IdempotencyTable
from event_fanout.constructs.options import ConsumerOptions, ConsumerProps, Idempotency
from event_fanout.constructs.runtime_layer import RuntimeLayer

__all__ = [
    "AlarmOptions",
    "ConsumerAlarmOptions",
    "ConsumerAlarms",
    "ConsumerOptions",
    "ConsumerProps",
    "EventFanout",
    "FanoutConsumer",
    "Idempotency",
    "IdempotencyTable",
    "RuntimeLayer",
]
