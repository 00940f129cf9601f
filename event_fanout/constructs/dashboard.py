"""A fan-out's CloudWatch dashboards: lag first, one row per consumer.

One dashboard per stack that holds consumers (the fan-out's, and each ``ConsumersShard``): a
dashboard reading metrics of another stack's resources would make every queue, function and
rule name a cross-stack reference, and a shard an output per name (a stack has at most 200).
Past :data:`CONSUMERS_PER_DASHBOARD` consumers a stack's dashboard continues in a second one
(CloudWatch takes at most 500 widgets per dashboard), so a fan-out of any size gets dashboards,
never a synth error. Every widget is built from the resources' own ``metric*()`` methods.

The fan-out's first dashboard opens with a header row: the alarm status of every alarm in its
stack, events matched on the bus, and the undeliverable-events queue. Each consumer's row reads
left to right as an incident does: how late (oldest message against its alarm), how much is
waiting, whether it keeps up (sent against deleted, and the time to drain at the current rate),
what failed (DLQ, the runtime's records, the function), and whether EventBridge delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import jsii
from aws_cdk import Aws, CfnCondition, Duration, Fn, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from aws_cdk.region_info import RegionInfo
from constructs import Construct

from event_fanout.constructs.stack_place import place_in
from event_fanout.runtime import constants

if TYPE_CHECKING:
    from event_fanout.constructs.consumer import FanoutConsumer

__all__ = ["CONSUMERS_PER_DASHBOARD", "FanoutDashboards"]

#: Consumers per dashboard: 8 widgets a row keeps one well under CloudWatch's 500 widgets.
CONSUMERS_PER_DASHBOARD: Final = 40
#: The dashboards' time resolution for counts (the failure alarms' period).
_PERIOD = Duration.minutes(5)
_MINUTE = Duration.minutes(1)
_ROW_HEIGHT = 6


@jsii.implements(cloudwatch.IWidget)
class _AlarmStatus:
    """An alarm status widget whose alarms are known only at synth (consumers come later).

    aws-cdk's ``AlarmStatusWidget`` takes its alarms when it is built; the dashboard renders its
    body at synth, so this widget renders one then, with every alarm added by that time.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.alarms: list[cloudwatch.IAlarm] = []
        self._x: float = 0
        self._y: float = 0

    @property
    def width(self) -> float:
        return 24

    @property
    def height(self) -> float:
        return 3

    @property
    def warnings(self) -> list[str] | None:
        return None

    @property
    def warnings_v2(self) -> dict[str, str] | None:
        return None

    def position(self, x: float, y: float) -> None:
        self._x, self._y = x, y

    def to_json(self) -> list[Any]:
        widget = cloudwatch.AlarmStatusWidget(
            title=self.title,
            alarms=self.alarms,
            width=int(self.width),
            height=int(self.height),
            sort_by=cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
        )
        widget.position(self._x, self._y)
        rendered: list[Any] = widget.to_json()
        return rendered


@dataclass
class _Board:
    """One dashboard, its alarm status widget, and how many consumer rows it has."""

    dashboard: cloudwatch.Dashboard
    name: str
    alarms: _AlarmStatus
    consumers: int = 0


class FanoutDashboards:
    """The dashboards of one fan-out; :meth:`add_consumer` puts each consumer's row in one.

    Parameters
    ----------
    fanout
        The fan-out (its stack holds the first dashboard and the header).
    dashboard_name
        Name of the first dashboard; the others add ``-<stack id>`` and ``-<n>``. Known at
        synth, so the alarms' descriptions can link their dashboard.

    """

    def __init__(
        self,
        fanout: Construct,
        *,
        event_bus: events.IEventBus,
        undeliverable_events_queue: sqs.IQueue,
        undeliverable_events_alarm: cloudwatch.Alarm,
        dashboard_name: str,
    ) -> None:
        self._fanout = fanout
        self._name = dashboard_name
        self._boards: dict[str, list[_Board]] = {}
        first = self._new_board(Stack.of(fanout))
        first.alarms.alarms.append(undeliverable_events_alarm)
        first.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Events on the bus (matched by a rule / delivered)",
                left=[
                    _bus_metric(event_bus, "MatchedEvents"),
                    _bus_metric(event_bus, "Invocations"),
                ],
                width=12,
                height=_ROW_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Undeliverable events (EventBridge gave up on a consumer queue)",
                left=[
                    undeliverable_events_queue.metric_approximate_number_of_messages_visible(
                        period=_MINUTE, statistic=cloudwatch.Stats.MAXIMUM
                    )
                ],
                left_annotations=[undeliverable_events_alarm.to_annotation()],
                width=12,
                height=_ROW_HEIGHT,
            ),
        )

    @property
    def dashboards(self) -> list[cloudwatch.Dashboard]:
        """Every dashboard, the fan-out's first."""
        return [board.dashboard for boards in self._boards.values() for board in boards]

    def add_consumer(self, consumer: FanoutConsumer) -> cloudwatch.Dashboard:
        """Add the consumer's row (and its alarms) to its stack's dashboard; return that one."""
        board = self._board_for(Stack.of(consumer))
        board.alarms.alarms.extend(consumer.alarms.all)
        board.dashboard.add_widgets(*consumer_row(consumer))
        board.consumers += 1
        link = dashboard_link(board.name, Stack.of(consumer))
        for alarm in consumer.alarms.resources.values():
            # Whoever is paged lands on the consumer's row with one click.
            alarm.alarm_description = f"{alarm.alarm_description} {link}"
        return board.dashboard

    def _board_for(self, stack: Stack) -> _Board:
        boards = self._boards.get(stack.node.path)
        if boards and boards[-1].consumers < CONSUMERS_PER_DASHBOARD:
            return boards[-1]
        return self._new_board(stack)

    def _new_board(self, stack: Stack) -> _Board:
        boards = self._boards.setdefault(stack.node.path, [])
        index = len(boards) + 1
        place = place_in(self._fanout, stack)
        construct_id = f"{place.id_prefix}Dashboard" + ("" if index == 1 else str(index))
        name = (
            self._name
            + (f"-{place.shard}" if place.shard else "")
            + ("" if index == 1 else f"-{index}")
        )
        dashboard = cloudwatch.Dashboard(
            place.scope, construct_id, dashboard_name=name, default_interval=Duration.hours(3)
        )
        alarms = _AlarmStatus(
            f"Alarms of {self._fanout.node.path}" + (f" in {place.shard}" if place.shard else "")
        )
        dashboard.add_widgets(alarms)
        board = _Board(dashboard, name, alarms)
        boards.append(board)
        return board


#: The AWS console's domain per partition. The other partitions (ISO, the European Sovereign
#: Cloud) have consoles of their own that this library does not know: a link there names the
#: dashboard only.
CONSOLE_DOMAINS: Final = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


def dashboard_link(name: str, stack: Stack) -> str:
    """Where an alarm's reader finds the dashboard ``name``: its console address.

    In a stack whose region is known, the console of the region's partition (see
    :data:`CONSOLE_DOMAINS`). In an environment-agnostic stack, region and partition are
    resolved at deploy time (``AWS::Region``, and a condition per non-commercial partition).
    """
    if not Token.is_unresolved(stack.region):
        partition = RegionInfo.get(stack.region).partition or "aws"
        domain = CONSOLE_DOMAINS.get(partition)
        if domain is None:
            return f"Dashboard: {name} (CloudWatch, {stack.region})"
        region = stack.region
    else:
        domain = _deploy_time_console_domain(stack)
        region = Aws.REGION
    return f"Dashboard: https://{domain}/cloudwatch/home?region={region}#dashboards:name={name}"


def _deploy_time_console_domain(stack: Stack) -> str:
    """``Fn::If`` over the partition: one condition per non-commercial partition, per stack."""
    domain = CONSOLE_DOMAINS["aws"]
    for partition in ("aws-us-gov", "aws-cn"):
        condition_id = "EventFanoutIn" + "".join(p.capitalize() for p in partition.split("-"))
        condition = stack.node.try_find_child(condition_id)
        if condition is None:
            condition = CfnCondition(
                stack, condition_id, expression=Fn.condition_equals(Aws.PARTITION, partition)
            )
        assert isinstance(condition, CfnCondition)
        domain = Token.as_string(
            Fn.condition_if(condition.logical_id, CONSOLE_DOMAINS[partition], domain)
        )
    return domain


def consumer_row(consumer: FanoutConsumer) -> list[cloudwatch.IWidget]:
    """The widgets of one consumer's row, 24 columns wide."""
    name = consumer.node.id
    queue, dlq = consumer.queue, consumer.dead_letter_queue
    function = consumer.function
    lag = consumer.alarms.oldest_message_age
    visible = queue.metric_approximate_number_of_messages_visible(
        period=_PERIOD, statistic=cloudwatch.Stats.MAXIMUM, label="visible"
    )
    deleted = queue.metric_number_of_messages_deleted(
        period=_PERIOD, statistic=cloudwatch.Stats.SUM, label="deleted"
    )
    runtime = {
        "service": consumer.metrics_service,
        constants.METRIC_DIMENSION_CONSUMER: name,
    }
    return [
        cloudwatch.GraphWidget(
            title=f"{name}: lag (oldest message, s)",
            left=[
                queue.metric_approximate_age_of_oldest_message(
                    period=_MINUTE, statistic=cloudwatch.Stats.MAXIMUM, label="oldest message"
                )
            ],
            left_annotations=[lag.to_annotation()] if lag is not None else [],
            width=4,
            height=_ROW_HEIGHT,
        ),
        cloudwatch.GraphWidget(
            title=f"{name}: waiting",
            left=[
                visible,
                queue.metric_approximate_number_of_messages_not_visible(
                    period=_PERIOD, statistic=cloudwatch.Stats.MAXIMUM, label="in flight"
                ),
            ],
            width=3,
            height=_ROW_HEIGHT,
        ),
        cloudwatch.GraphWidget(
            title=f"{name}: keeping up?",
            left=[
                queue.metric_number_of_messages_sent(
                    period=_PERIOD, statistic=cloudwatch.Stats.SUM, label="sent"
                ),
                deleted,
            ],
            width=3,
            height=_ROW_HEIGHT,
        ),
        cloudwatch.SingleValueWidget(
            title=f"{name}: time to drain (s)",
            metrics=[
                cloudwatch.MathExpression(
                    # Visible messages over the deletion rate of the last period.
                    expression="IF(deleted > 0, visible / (deleted / PERIOD(deleted)), 0)",
                    using_metrics={"visible": visible, "deleted": deleted},
                    period=_PERIOD,
                    label="at the current rate",
                )
            ],
            width=2,
            height=_ROW_HEIGHT,
        ),
        cloudwatch.GraphWidget(
            title=f"{name}: dead letters",
            left=[
                dlq.metric_approximate_number_of_messages_visible(
                    period=_MINUTE, statistic=cloudwatch.Stats.MAXIMUM, label="in the DLQ"
                )
            ],
            width=3,
            height=_ROW_HEIGHT,
        ),
        cloudwatch.GraphWidget(
            title=f"{name}: records",
            left=[
                _runtime_metric(runtime, constants.METRIC_PROCESSED, "processed"),
                _runtime_metric(runtime, constants.METRIC_DUPLICATE, "duplicates"),
                _runtime_metric(runtime, constants.METRIC_FAILED, "failed"),
            ],
            stacked=False,
            width=3,
            height=_ROW_HEIGHT,
        ),
        cloudwatch.GraphWidget(
            title=f"{name}: function",
            left=[
                function.metric_errors(period=_PERIOD, label="errors"),
                function.metric_throttles(period=_PERIOD, label="throttles"),
                function.metric(
                    "ConcurrentExecutions",
                    period=_PERIOD,
                    statistic=cloudwatch.Stats.MAXIMUM,
                    label="concurrent",
                ),
            ],
            right=[
                function.metric_duration(
                    period=_PERIOD, statistic=cloudwatch.Stats.p(99), label="duration p99 (ms)"
                )
            ],
            width=3,
            height=_ROW_HEIGHT,
        ),
        cloudwatch.GraphWidget(
            title=f"{name}: delivery",
            left=[
                _rule_metric(consumer.rule, "FailedInvocations", "failed deliveries"),
                _rule_metric(consumer.rule, "InvocationsFailedToBeSentToDlq", "dropped"),
            ],
            width=3,
            height=_ROW_HEIGHT,
        ),
    ]


def _sum(
    namespace: str, metric_name: str, dimensions: dict[str, str], label: str | None = None
) -> cloudwatch.Metric:
    """A metric summed over the dashboard's period: what the widgets count."""
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=metric_name,
        dimensions_map=dimensions,
        period=_PERIOD,
        statistic=cloudwatch.Stats.SUM,
        label=label,
    )


def _bus_metric(bus: events.IEventBus, metric_name: str) -> cloudwatch.Metric:
    return _sum("AWS/Events", metric_name, {"EventBusName": bus.event_bus_name})


def _rule_metric(rule: events.Rule, metric_name: str, label: str) -> cloudwatch.Metric:
    return _sum("AWS/Events", metric_name, {"RuleName": rule.rule_name}, label)


def _runtime_metric(dimensions: dict[str, str], metric_name: str, label: str) -> cloudwatch.Metric:
    return _sum(constants.DEFAULT_METRICS_NAMESPACE, metric_name, dimensions, label)
