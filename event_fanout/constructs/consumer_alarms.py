"""The alarms that tell a team a consumer is losing ground, before its users notice."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from event_fanout.constructs.lookups import bus_name, human_duration
from event_fanout.constructs.validation import seconds_of

#: Period of the queue alarms: SQS publishes queue metrics once a minute.
QUEUE_ALARM_PERIOD = Duration.minutes(1)
#: Period of the function and rule alarms: summed, so a single failure in five minutes alarms.
FAILURE_ALARM_PERIOD = Duration.minutes(5)
#: ``cloudwatch.Stats.MAXIMUM`` / ``SUM`` as plain strings: each read of ``Stats.X`` is a jsii
#: round trip, and the template is the same.
_MAXIMUM = "Maximum"
_SUM = "Sum"


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
    """Dead-letter depth, consumer lag, function errors and throttles, rule delivery failures.

    Lag (age of the oldest message) is the most honest signal during an incident: it tells how
    stale the product is becoming, whatever the queue depth.

    Attributes
    ----------
    dead_letter_queue_depth, oldest_message_age, function_errors, function_throttles,
    rule_failed_invocations:
        The individual alarms, for dashboards or composite alarms.
    all:
        Every alarm above, in that order.

    """

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
    ) -> None:
        super().__init__(scope, construct_id)
        # The consumer's id; passing it saves a jsii call.
        name = consumer_name or scope.node.id
        self.dead_letter_queue_depth = queue_depth_alarm(
            self,
            "DeadLetterQueueDepth",
            dead_letter_queue,
            description=(
                f"{name}: messages failed {name}'s handler max_receive_count times and wait in "
                "its dead-letter queue. Inspect them, fix the handler, then redrive."
            ),
        )
        self.oldest_message_age = cloudwatch.Alarm(
            self,
            "OldestMessageAge",
            metric=queue.metric_approximate_age_of_oldest_message(
                period=QUEUE_ALARM_PERIOD, statistic=_MAXIMUM
            ),
            threshold=_threshold_seconds(max_message_age),
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"{name}: the oldest event waiting in the queue is older than "
                f"{human_duration(max_message_age)}; the consumer is falling behind."
            ),
        )
        self.function_errors = self._sum_alarm(
            "FunctionErrors",
            function.metric_errors(period=FAILURE_ALARM_PERIOD, statistic=_SUM),
            f"{name}: the consumer function failed whole invocations (not single records).",
        )
        self.function_throttles = self._sum_alarm(
            "FunctionThrottles",
            function.metric_throttles(period=FAILURE_ALARM_PERIOD, statistic=_SUM),
            f"{name}: the consumer function was throttled; raise its concurrency or lower "
            "the mapping's max_concurrency.",
        )
        self.rule_failed_invocations = self._sum_alarm(
            "RuleFailedInvocations",
            cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map=_rule_dimensions(rule, event_bus),
                period=FAILURE_ALARM_PERIOD,
                statistic=_SUM,
            ),
            f"{name}: EventBridge could not deliver matched events to the queue; they went "
            "to the fan-out's undeliverable-events queue.",
        )
        self.all: tuple[cloudwatch.Alarm, ...] = (
            self.dead_letter_queue_depth,
            self.oldest_message_age,
            self.function_errors,
            self.function_throttles,
            self.rule_failed_invocations,
        )
        add_actions(self.all, alarm_actions)

    def _sum_alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, description: str
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )


def add_actions(
    alarms: Sequence[cloudwatch.Alarm], actions: Sequence[cloudwatch.IAlarmAction]
) -> None:
    """Notify on both ALARM and OK, so whoever was paged also learns when it recovered."""
    if not actions:
        return
    for alarm in alarms:
        alarm.add_alarm_action(*actions)
        alarm.add_ok_action(*actions)


def _rule_dimensions(rule: events.Rule, event_bus: events.IEventBus) -> dict[str, str]:
    """AWS/Events publishes rule metrics on custom buses with both bus and rule dimensions."""
    name = bus_name(event_bus)
    if name == "default":
        return {"RuleName": rule.rule_name}
    return {"EventBusName": name, "RuleName": rule.rule_name}


def _threshold_seconds(age: Duration) -> float:
    seconds = seconds_of(age)
    return age.to_seconds() if seconds is None else seconds
