"""One composite alarm per fan-out, "a consumer is in trouble": the one alarm to page on.

It is in ALARM while any alarm of the fan-out's consumers (and its undeliverable-events alarm)
is, so a team pages on one alarm and reads the dashboard for which consumer. As with the
dashboards, there is one per stack holding consumers: a composite alarm names its alarms by
ARN, and another stack's would be cross-stack references. Its rule is rendered at synth, once
every consumer has been added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import jsii
from aws_cdk import IStableStringProducer, Lazy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from event_fanout.constructs.consumer_alarms import add_actions
from event_fanout.constructs.stack_place import place_in

if TYPE_CHECKING:
    from event_fanout.constructs.consumer import FanoutConsumer

__all__ = ["FanoutTroubleAlarms"]


@jsii.implements(IStableStringProducer)
class _AnyOf:
    """``ANY`` of the alarms added by synth time, as a composite alarm's rule."""

    def __init__(self, alarms: list[cloudwatch.IAlarm]) -> None:
        self.alarms = alarms

    def produce(self) -> str | None:
        rule: str = cloudwatch.AlarmRule.any_of(*self.alarms).render_alarm_rule()
        return rule


@jsii.implements(cloudwatch.IAlarmRule)
class _LazyRule:
    def __init__(self, producer: _AnyOf) -> None:
        self._producer = producer

    def render_alarm_rule(self) -> str:
        return Lazy.string(self._producer)


class FanoutTroubleAlarms:
    """The fan-out's composite alarms; :meth:`add_consumer` adds a consumer's alarms to one."""

    def __init__(
        self,
        fanout: Construct,
        *,
        undeliverable_events_alarm: cloudwatch.IAlarm,
        alarm_actions: Sequence[cloudwatch.IAlarmAction],
    ) -> None:
        self._fanout = fanout
        self._actions = tuple(alarm_actions)
        self._by_stack: dict[str, list[cloudwatch.IAlarm]] = {}
        #: Each stack's composite alarm, the fan-out's stack first.
        self.alarms: list[cloudwatch.CompositeAlarm] = []
        self._alarms_of(Stack.of(fanout)).append(undeliverable_events_alarm)

    def add_consumer(self, consumer: FanoutConsumer) -> None:
        """Include the consumer's alarms in its stack's composite alarm."""
        self._alarms_of(Stack.of(consumer)).extend(consumer.alarms.all)

    def _alarms_of(self, stack: Stack) -> list[cloudwatch.IAlarm]:
        if stack.node.path in self._by_stack:
            return self._by_stack[stack.node.path]
        members: list[cloudwatch.IAlarm] = []
        self._by_stack[stack.node.path] = members
        place = place_in(self._fanout, stack)
        where = f" in {place.shard}" if place.shard else ""
        alarm = cloudwatch.CompositeAlarm(
            place.scope,
            f"{place.id_prefix}ConsumerInTrouble",
            alarm_rule=_LazyRule(_AnyOf(members)),
            alarm_description=(
                f"A consumer of {self._fanout.node.path}{where} is in trouble (one of its alarms "
                "is in ALARM). First: `event-fanout status`, then the consumer's dashboard row."
            ),
        )
        add_actions([alarm], self._actions)
        self.alarms.append(alarm)
        return members
