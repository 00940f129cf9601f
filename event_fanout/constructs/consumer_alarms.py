"""The alarms that tell a team a consumer is losing ground, before its users notice."""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, Final

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from event_fanout.constructs.alarm_options import ConsumerAlarmOptions
from event_fanout.constructs.lookups import seconds_of
from event_fanout.errors import ConfigProblem, EventFanoutConfigError
from event_fanout.runtime import constants

#: Period of the queue alarms (seconds): SQS publishes queue metrics once a minute.
QUEUE_ALARM_PERIOD_SECONDS: Final = 60
#: Period of the function and rule alarms (seconds): summed, so one failure in five minutes alarms.
FAILURE_ALARM_PERIOD_SECONDS: Final = 300
QUEUE_ALARM_PERIOD = Duration.seconds(QUEUE_ALARM_PERIOD_SECONDS)
FAILURE_ALARM_PERIOD = Duration.seconds(FAILURE_ALARM_PERIOD_SECONDS)
_MAXIMUM = cloudwatch.Stats.MAXIMUM
_SUM = cloudwatch.Stats.SUM

#: The consumer alarms, in the order of ``ConsumerAlarms.all``: attribute name -> construct id.
ALARM_IDS: Final[Mapping[str, str]] = {
    "dead_letter_queue_depth": "DeadLetterQueueDepth",
    "oldest_message_age": "OldestMessageAge",
    "function_errors": "FunctionErrors",
    "function_throttles": "FunctionThrottles",
    "rule_failed_invocations": "RuleFailedInvocations",
    "failed_records": "FailedRecords",
    "events_dropped": "EventsDropped",
    "failed_record_rate": "FailedRecordRate",
    "no_events": "NoEvents",
}
#: The period of the ``no_events`` alarm: "no traffic" is judged over an hour.
NO_EVENTS_PERIOD = Duration.hours(1)


def queue_depth_alarm(
    scope: Construct, construct_id: str, queue: sqs.IQueue, *, description: str
) -> cloudwatch.Alarm:
    """Alarm when any message is visible in a dead-letter queue.

    ``ApproximateNumberOfMessagesVisible`` rather than ``NumberOfMessagesSent``: messages moved by
    a redrive policy are not "sent", so the latter never sees a poison message arrive.
    """
    return cloudwatch.Alarm(
        scope,
        construct_id,
        metric=queue.metric_approximate_number_of_messages_visible(
            period=QUEUE_ALARM_PERIOD, statistic=_MAXIMUM
        ),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        # SQS stops publishing metrics for a queue idle ~6 hours: silence is not an incident.
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )


class ConsumerAlarms(Construct):
    """Dead-letter depth, lag, function errors and throttles, failed records, delivery failures.

    Lag (age of the oldest message) is the most honest signal during an incident: it tells how
    stale the product is becoming, whatever the queue depth.

    Each alarm's construct id starts with the consumer's name (``AuditDeadLetterQueueDepth``):
    ``LambdaAction`` names the permission it adds for an alarm after the alarm's id (with the
    ``changeLambdaPermissionLogicalIdForLambdaAction`` flag of new CDK apps), so one action
    shared by several consumers needs ids that differ between them.

    Attributes
    ----------
    dead_letter_queue_depth, oldest_message_age, function_errors, function_throttles,
    rule_failed_invocations, failed_records, events_dropped, failed_record_rate, no_events:
        The individual alarms, for dashboards (``AlarmWidget``) and composite alarms
        (``AlarmRule.from_alarm``); also ``alarm("<attribute name>")``. ``None`` for an alarm
        its options turn off (``failed_record_rate`` and ``no_events`` are off by default; see
        :class:`~event_fanout.constructs.alarm_options.ConsumerAlarmOptions`).
    all:
        Every alarm that is on, in that order.
    resources:
        The ``CfnAlarm`` of each, by the attribute names above, to override a property
        (actions: :meth:`add_actions`).

    """

    dead_letter_queue_depth: cloudwatch.Alarm | None
    oldest_message_age: cloudwatch.Alarm | None
    function_errors: cloudwatch.Alarm | None
    function_throttles: cloudwatch.Alarm | None
    rule_failed_invocations: cloudwatch.Alarm | None
    failed_records: cloudwatch.Alarm | None
    events_dropped: cloudwatch.Alarm | None
    failed_record_rate: cloudwatch.Alarm | None
    no_events: cloudwatch.Alarm | None

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        function: lambda_.IFunction,
        rule: events.Rule,
        event_bus: events.IEventBus,
        max_message_age: Duration,
        alarm_actions: Sequence[cloudwatch.IAlarmAction] = (),
        consumer_name: str | None = None,
        metrics_service: str | None = None,
        options: ConsumerAlarmOptions | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        name = consumer_name or scope.node.id
        self._consumer_name = name
        self._options = options or ConsumerAlarmOptions()
        self._alarms: dict[str, cloudwatch.Alarm] = {}
        self._queue_alarm(
            "dead_letter_queue_depth",
            dead_letter_queue.metric_approximate_number_of_messages_visible,
            threshold=self._options.threshold("dead_letter_queue_depth") or 1,
            description=(
                f"{name}: messages failed {name}'s handler max_receive_count times and wait in "
                "its dead-letter queue: their effects have not happened. First: "
                f"`event-fanout dlq peek {name}`; after the fix, `event-fanout redrive {name}`."
            ),
        )
        self._queue_alarm(
            "oldest_message_age",
            queue.metric_approximate_age_of_oldest_message,
            threshold=_threshold_seconds(max_message_age),
            description=(
                f"{name}: the oldest event waiting in the queue is older than "
                f"{max_message_age.to_human_string()}: the consumer is falling behind and what "
                "it does for users is that late. First: `event-fanout status` (backlog, "
                "failures, throttles)."
            ),
        )
        self._failure_alarm(
            "function_errors",
            function.metric_errors,
            f"{name}: the consumer function failed whole invocations (not single records): "
            "their batches are retried and may reach the DLQ. First: the function's error log "
            "lines (a crash, a timeout, an import error).",
        )
        self._failure_alarm(
            "function_throttles",
            function.metric_throttles,
            f"{name}: the consumer function was throttled: events wait longer. First: raise "
            "its concurrency, or lower the mapping's max_concurrency.",
        )
        rule_dimensions = _rule_dimensions(rule, event_bus)
        self._failure_alarm(
            "rule_failed_invocations",
            partial(_metric, "AWS/Events", "FailedInvocations", rule_dimensions),
            f"{name}: EventBridge could not deliver matched events to the queue; they went "
            "to the fan-out's undeliverable-events queue and the consumer has not seen them. "
            "First: the queue's policy and key; then `event-fanout redrive --undeliverable`.",
        )
        runtime_metric = partial(
            _metric,
            constants.DEFAULT_METRICS_NAMESPACE,
            dimensions={
                "service": metrics_service or name,
                constants.METRIC_DIMENSION_CONSUMER: name,
            },
        )
        # A record the runtime reports failed is not a Lambda error: without this alarm nothing
        # fires until the record's last receive puts it in the DLQ.
        self._failure_alarm(
            "failed_records",
            partial(runtime_metric, constants.METRIC_FAILED),
            f"{name}: the consumer's handler failed records (the runtime's Failed metric); "
            "they are retried and, after max_receive_count receives, dead-lettered. First: "
            "the consumer's error log lines, then `event-fanout status`.",
        )
        # Events EventBridge could neither deliver nor put in the undeliverable-events queue
        # (its policy or key refused them): these are lost.
        self._failure_alarm(
            "events_dropped",
            partial(_metric, "AWS/Events", "InvocationsFailedToBeSentToDlq", rule_dimensions),
            f"{name}: EventBridge dropped events it could deliver neither to the queue nor to "
            "the undeliverable-events queue: they are lost. First: both queues' policies and "
            f"keys, then `event-fanout replay {name} --from <when it started>`.",
        )
        self._rate_alarm(name, runtime_metric)
        self._no_events_alarm(name, runtime_metric)
        self.add_actions(*alarm_actions)

    def _queue_alarm(
        self,
        attribute: str,
        metric: Callable[..., cloudwatch.Metric],
        *,
        threshold: float,
        description: str,
    ) -> None:
        """The queue's worst minute: SQS publishes its metrics once a minute."""
        self._alarm(
            attribute,
            metric(period=QUEUE_ALARM_PERIOD, statistic=_MAXIMUM),
            threshold=threshold,
            description=description,
        )

    def _rate_alarm(self, name: str, metric: Callable[..., cloudwatch.Metric]) -> None:
        """Failed records as a percentage of the records handled, over five minutes."""
        using = _records_handled(metric, FAILURE_ALARM_PERIOD)
        self._alarm(
            "failed_record_rate",
            cloudwatch.MathExpression(
                expression="IF(p + d + f > 0, 100 * f / (p + d + f), 0)",
                using_metrics=using,
                period=FAILURE_ALARM_PERIOD,
                label=f"{name} failed records (%)",
            ),
            threshold=self._options.threshold("failed_record_rate") or 0,
            description=(
                f"{name}: more than {self._options.threshold('failed_record_rate'):g} % of the "
                "records it handled failed; they are retried and, after max_receive_count "
                f"receives, dead-lettered. First: `event-fanout dlq peek {name}` and the "
                "consumer's error log lines."
            ),
        )

    def _no_events_alarm(self, name: str, metric: Callable[..., cloudwatch.Metric]) -> None:
        """Fewer records than expected in an hour: a producer or the rule stopped."""
        using = _records_handled(metric, NO_EVENTS_PERIOD)
        self._alarm(
            "no_events",
            cloudwatch.MathExpression(
                expression="FILL(p, 0) + FILL(d, 0) + FILL(f, 0)",
                using_metrics=using,
                period=NO_EVENTS_PERIOD,
                label=f"{name} records per hour",
            ),
            threshold=self._options.threshold("no_events") or 0,
            description=(
                f"{name}: fewer than {self._options.threshold('no_events'):g} records in an "
                "hour reached the consumer: a producer stopped publishing, or its rule no "
                f"longer matches. First: `event-fanout status`, then `event-fanout route` "
                "with an event the producer sends."
            ),
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing=cloudwatch.TreatMissingData.BREACHING,
        )

    def _failure_alarm(
        self, attribute: str, metric: Callable[..., cloudwatch.Metric], description: str
    ) -> None:
        """Any failure counted in five minutes."""
        self._alarm(
            attribute,
            metric(period=FAILURE_ALARM_PERIOD, statistic=_SUM),
            threshold=self._options.threshold(attribute) or 1,
            description=description,
        )

    def _alarm(
        self,
        attribute: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
        # SQS stops publishing metrics for a queue idle ~6 hours: silence is not an incident.
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> None:
        """The alarm, unless its options turn it off (the attribute is then None)."""
        options = self._options.of(attribute)
        if not options.enabled:
            setattr(self, attribute, None)
            return
        alarm = cloudwatch.Alarm(
            self,
            f"{self._consumer_name}{ALARM_IDS[attribute]}",
            metric=metric,
            threshold=threshold,
            evaluation_periods=options.evaluation_periods,
            datapoints_to_alarm=options.datapoints_to_alarm,
            comparison_operator=comparison,
            treat_missing_data=missing,
            alarm_description=description,
        )
        self._alarms[attribute] = alarm
        setattr(self, attribute, alarm)

    def add_actions(
        self, *actions: cloudwatch.IAlarmAction, alarms: Sequence[str] | None = None
    ) -> None:
        """Notify ``actions`` on ALARM and on OK, so whoever was paged learns it recovered.

        ``alarms``: attribute names of the alarms to add them to (e.g.
        ``["dead_letter_queue_depth"]`` to page only on poison messages). Default: all seven.
        """
        names = list(self._alarms) if alarms is None else list(alarms)
        unknown = [name for name in names if name not in self._alarms]
        if unknown:
            raise ValueError(
                f"{self.node.path}: add_actions(alarms={unknown!r}): no such alarm here (turned "
                f"off, or misspelled); use any of {', '.join(self._alarms)}"
            )
        add_actions([self._alarms[name] for name in names], actions, owner=self.node.scope or self)

    def alarm(self, attribute: str) -> cloudwatch.Alarm:
        """One alarm by attribute name (see the class's attributes); KeyError if turned off."""
        return self._alarms[attribute]

    @property
    def all(self) -> tuple[cloudwatch.Alarm, ...]:
        """Every alarm that is on, in the order of the attributes above."""
        return tuple(
            self._alarms[attribute] for attribute in ALARM_IDS if attribute in self._alarms
        )

    @property
    def resources(self) -> dict[str, cloudwatch.CfnAlarm]:
        """The ``CfnAlarm`` of each alarm, by attribute name."""
        return {
            attribute: typing.cast(cloudwatch.CfnAlarm, alarm.node.default_child)
            for attribute, alarm in self._alarms.items()
        }


def _records_handled(
    metric: Callable[..., cloudwatch.Metric], period: Duration
) -> dict[str, cloudwatch.IMetric]:
    """The runtime's failed (``f``), processed (``p``) and duplicate (``d``) records, summed."""
    return {
        key: metric(metric_name, period=period, statistic=_SUM)
        for key, metric_name in (
            ("f", constants.METRIC_FAILED),
            ("p", constants.METRIC_PROCESSED),
            ("d", constants.METRIC_DUPLICATE),
        )
    }


def _metric(
    namespace: str, metric_name: str, dimensions: Mapping[str, str], **options: Any
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=namespace, metric_name=metric_name, dimensions_map=dict(dimensions), **options
    )


@contextmanager
def _explain_permission_clash(path: Callable[[], str]) -> Iterator[None]:
    """Turn a Lambda action's clashing permission id into an error that names the fix.

    Without ``use_unique_permission_id`` (and the feature flag that names permissions after
    the alarm), ``LambdaAction`` gives every alarm's permission the same id, so its second
    alarm fails deep inside aws-cdk-lib. Any other error passes unchanged. ``path`` names the
    construct whose ``alarm_actions`` it was (read only when there is an error to report).
    """
    try:
        yield
    except RuntimeError as error:
        message = str(error)
        if "AlarmPermission" not in message or "already a Construct" not in message:
            raise
        detail = message.splitlines()[0].removeprefix("Error: ")
        function = re.search(r"\[(.+?)\]", detail)
        raise EventFanoutConfigError(
            [
                ConfigProblem(
                    path(),
                    "alarm_actions",
                    f"LambdaAction({function.group(1) if function else '...'}) "
                    "without use_unique_permission_id",
                    "must give each alarm its own Lambda permission id",
                    "create it as LambdaAction(function, use_unique_permission_id=True) "
                    f"(aws-cdk-lib: {detail})",
                )
            ]
        ) from error


def _parent_path(construct: IConstruct) -> str:
    if not isinstance(construct, cloudwatch.Alarm):
        return construct.node.path
    parent = construct.node.scope
    return (parent or construct).node.path


def add_actions(
    alarms: Sequence[cloudwatch.AlarmBase],
    actions: Sequence[cloudwatch.IAlarmAction],
    *,
    owner: IConstruct | None = None,
) -> None:
    """Notify on both ALARM and OK, so whoever was paged also learns when it recovered.

    ``owner``: the construct whose ``alarm_actions`` they are, named in an error (default: the
    alarm's parent).
    """
    if not actions:
        return
    for alarm in alarms:
        with _explain_permission_clash(partial(_parent_path, owner or alarm)):
            alarm.add_alarm_action(*actions)
            alarm.add_ok_action(*actions)


def _rule_dimensions(rule: events.Rule, event_bus: events.IEventBus) -> dict[str, str]:
    """AWS/Events publishes rule metrics on custom buses with both bus and rule dimensions."""
    name = event_bus.event_bus_name
    if name == "default":
        return {"RuleName": rule.rule_name}
    return {"EventBusName": name, "RuleName": rule.rule_name}


def _threshold_seconds(age: Duration) -> float:
    seconds = seconds_of(age)
    return age.to_seconds() if seconds is None else seconds
