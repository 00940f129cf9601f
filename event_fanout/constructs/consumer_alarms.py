"""The alarms that tell a team a consumer is losing ground, before its users notice."""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Final, overload

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from event_fanout.constructs.lookups import bus_name, human_duration, path_of
from event_fanout.constructs.validation import seconds_of
from event_fanout.errors import ConfigProblem, EventFanoutConfigError
from event_fanout.runtime import constants

#: Period of the queue alarms (seconds): SQS publishes queue metrics once a minute.
QUEUE_ALARM_PERIOD_SECONDS: Final = 60
#: Period of the function and rule alarms (seconds): summed, so one failure in five minutes alarms.
FAILURE_ALARM_PERIOD_SECONDS: Final = 300
QUEUE_ALARM_PERIOD = Duration.seconds(QUEUE_ALARM_PERIOD_SECONDS)
#: ``cloudwatch.Stats.MAXIMUM`` / ``SUM`` as plain strings: each read of ``Stats.X`` is a jsii
#: round trip, and the template is the same.
_MAXIMUM = "Maximum"
_SUM = "Sum"
_AT_OR_ABOVE: Final = "GreaterThanOrEqualToThreshold"
_NOT_BREACHING: Final = "notBreaching"

#: The consumer alarms, in the order of ``ConsumerAlarms.all``: attribute name -> construct id.
ALARM_IDS: Final[Mapping[str, str]] = {
    "dead_letter_queue_depth": "DeadLetterQueueDepth",
    "oldest_message_age": "OldestMessageAge",
    "function_errors": "FunctionErrors",
    "function_throttles": "FunctionThrottles",
    "rule_failed_invocations": "RuleFailedInvocations",
    "failed_records": "FailedRecords",
    "events_dropped": "EventsDropped",
}

#: ARNs of actions whose ARN does not depend on the alarm, bound once per action object.
_ALARM_INDEPENDENT_ARNS: Final[weakref.WeakKeyDictionary[cloudwatch.IAlarmAction, str]] = (
    weakref.WeakKeyDictionary()
)


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


class _AlarmView:
    """A class attribute reading one of ``ConsumerAlarms``' alarms as an ``IAlarm``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.attribute = name

    @overload
    def __get__(self, instance: None, owner: type) -> _AlarmView: ...

    @overload
    def __get__(self, instance: ConsumerAlarms, owner: type) -> cloudwatch.IAlarm: ...

    def __get__(
        self, instance: ConsumerAlarms | None, owner: type
    ) -> cloudwatch.IAlarm | _AlarmView:
        return self if instance is None else instance.alarm(self.attribute)


class ConsumerAlarms(Construct):
    """Dead-letter depth, lag, function errors and throttles, failed records, delivery failures.

    Lag (age of the oldest message) is the most honest signal during an incident: it tells how
    stale the product is becoming, whatever the queue depth.

    The alarms are ``CfnAlarm`` resources with their metric written out: an L2 ``Alarm`` costs
    four jsii round trips (metric, alarm, ALARM action, OK action) where a ``CfnAlarm`` costs
    one, and a fan-out creates five per consumer. The alarms' properties are the same; their
    logical ids are not (an L2 puts its ``CfnAlarm`` one level deeper, under ``Resource``).

    Attributes
    ----------
    dead_letter_queue_depth, oldest_message_age, function_errors, function_throttles,
    rule_failed_invocations, failed_records, events_dropped:
        The individual alarms as ``IAlarm``, for dashboards (``AlarmWidget``) and composite
        alarms (``AlarmRule.from_alarm``); also ``alarm("<attribute name>")``.
    all:
        Every alarm above, in that order.
    resources:
        The ``CfnAlarm`` of each, by the attribute names above, to override a property
        (actions: :meth:`add_actions`, which keeps track of those already set).

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
        metrics_service: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # The consumer's id; passing it saves a jsii call.
        name = consumer_name or scope.node.id
        self._consumer_name = name
        self.resources: dict[str, cloudwatch.CfnAlarm] = {}
        self._views: dict[str, cloudwatch.IAlarm] = {}
        # Action ARNs of each alarm, kept here so adding one never reads the list back.
        self._action_arns: dict[str, list[str]] = {}
        # Known before the alarms exist when every action was bound before (the usual case:
        # one SNS action shared by all consumers): then they are passed at creation.
        self._preset_arns = _known_arns(alarm_actions)
        self._queue_alarm(
            "dead_letter_queue_depth",
            "ApproximateNumberOfMessagesVisible",
            dead_letter_queue.queue_name,
            threshold=1,
            description=(
                f"{name}: messages failed {name}'s handler max_receive_count times and wait in "
                "its dead-letter queue. Inspect them, fix the handler, then redrive."
            ),
        )
        self._queue_alarm(
            "oldest_message_age",
            "ApproximateAgeOfOldestMessage",
            queue.queue_name,
            threshold=_threshold_seconds(max_message_age),
            description=(
                f"{name}: the oldest event waiting in the queue is older than "
                f"{human_duration(max_message_age)}; the consumer is falling behind."
            ),
        )
        function_dimensions = {"FunctionName": function.function_name}
        self._failure_alarm(
            "function_errors",
            "AWS/Lambda",
            "Errors",
            function_dimensions,
            f"{name}: the consumer function failed whole invocations (not single records).",
        )
        self._failure_alarm(
            "function_throttles",
            "AWS/Lambda",
            "Throttles",
            function_dimensions,
            f"{name}: the consumer function was throttled; raise its concurrency or lower "
            "the mapping's max_concurrency.",
        )
        self._failure_alarm(
            "rule_failed_invocations",
            "AWS/Events",
            "FailedInvocations",
            _rule_dimensions(rule, event_bus),
            f"{name}: EventBridge could not deliver matched events to the queue; they went "
            "to the fan-out's undeliverable-events queue.",
        )
        # A record the runtime reports failed is not a Lambda error: without this alarm nothing
        # fires until the record's last receive puts it in the DLQ.
        self._failure_alarm(
            "failed_records",
            constants.DEFAULT_METRICS_NAMESPACE,
            constants.METRIC_FAILED,
            {
                "service": metrics_service or name,
                constants.METRIC_DIMENSION_CONSUMER: name,
            },
            f"{name}: the consumer's handler failed records (the runtime's Failed metric); "
            "they are retried and, after max_receive_count receives, dead-lettered. Read the "
            "consumer's error log lines for the reason.",
        )
        # Events EventBridge could neither deliver nor put in the undeliverable-events queue
        # (its policy or key refused them): these are lost.
        self._failure_alarm(
            "events_dropped",
            "AWS/Events",
            "InvocationsFailedToBeSentToDlq",
            _rule_dimensions(rule, event_bus),
            f"{name}: EventBridge dropped events it could deliver neither to the queue nor to "
            "the undeliverable-events queue: they are lost. Check both queues' policies and "
            "keys, then replay the events from the archive.",
        )
        if alarm_actions and not self._action_arns:
            self.add_actions(*alarm_actions)

    def _queue_alarm(
        self,
        attribute: str,
        metric_name: str,
        queue_name: str,
        *,
        threshold: float,
        description: str,
    ) -> None:
        """The queue's worst minute: SQS publishes its metrics once a minute."""
        self._alarm(
            attribute,
            namespace="AWS/SQS",
            metric_name=metric_name,
            dimensions={"QueueName": queue_name},
            period=QUEUE_ALARM_PERIOD_SECONDS,
            statistic=_MAXIMUM,
            threshold=threshold,
            description=description,
        )

    def _failure_alarm(
        self,
        attribute: str,
        namespace: str,
        metric_name: str,
        dimensions: Mapping[str, str],
        description: str,
    ) -> None:
        """Any failure counted in five minutes."""
        self._alarm(
            attribute,
            namespace=namespace,
            metric_name=metric_name,
            dimensions=dimensions,
            period=FAILURE_ALARM_PERIOD_SECONDS,
            statistic=_SUM,
            threshold=1,
            description=description,
        )

    def _alarm(
        self,
        attribute: str,
        *,
        namespace: str,
        metric_name: str,
        dimensions: Mapping[str, str],
        period: int,
        statistic: str,
        threshold: float,
        description: str,
    ) -> None:
        self.resources[attribute] = cloudwatch.CfnAlarm(
            self,
            ALARM_IDS[attribute],
            namespace=namespace,
            metric_name=metric_name,
            dimensions=[
                cloudwatch.CfnAlarm.DimensionProperty(name=key, value=value)
                for key, value in dimensions.items()
            ],
            period=period,
            statistic=statistic,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=_AT_OR_ABOVE,
            # SQS stops publishing metrics for a queue idle ~6 hours: silence is not an incident.
            treat_missing_data=_NOT_BREACHING,
            alarm_description=description,
            alarm_actions=self._preset_arns,
            ok_actions=self._preset_arns,
        )
        if self._preset_arns:
            self._action_arns[attribute] = list(self._preset_arns)

    def add_actions(
        self, *actions: cloudwatch.IAlarmAction, alarms: Sequence[str] | None = None
    ) -> None:
        """Notify ``actions`` on ALARM and on OK, so whoever was paged learns it recovered.

        ``alarms``: attribute names of the alarms to add them to (e.g.
        ``["dead_letter_queue_depth"]`` to page only on poison messages). Default: all five.
        """
        names = list(ALARM_IDS) if alarms is None else list(alarms)
        unknown = [name for name in names if name not in ALARM_IDS]
        if unknown:
            raise ValueError(
                f"{path_of(self)}: add_actions(alarms={unknown!r}): no such alarm; use any of "
                f"{', '.join(ALARM_IDS)}"
            )
        if not actions:
            return
        for attribute in names:
            arns = self._action_arns.setdefault(attribute, [])
            arns.extend(self._action_arn(action, attribute) for action in actions)
            resource = self.resources[attribute]
            resource.alarm_actions = list(arns)
            resource.ok_actions = list(arns)

    def _action_arn(self, action: cloudwatch.IAlarmAction, attribute: str) -> str:
        """The action's ARN for one alarm, as ``Alarm.add_alarm_action`` would bind it.

        An SNS action's ARN is its topic's whatever the alarm: bound once per action object.
        Any other action is bound per alarm (a Lambda action adds a permission for that alarm).
        """
        arn = _cached_arn(action)
        if arn is None:
            with _explain_permission_clash(partial(_parent_path, self)):
                arn = action.bind(self, self.alarm(attribute)).alarm_action_arn
            if _alarm_independent(action):
                _ALARM_INDEPENDENT_ARNS[action] = arn
        return arn

    def alarm(self, attribute: str) -> cloudwatch.IAlarm:
        """One alarm as an ``IAlarm``, by attribute name; created on first use, then reused.

        An import of the ``CfnAlarm`` (no resource of its own), so a consumer whose alarms
        nobody reads this way pays nothing for it. Its id starts with the consumer's name:
        ``LambdaAction`` names the permission it adds for an alarm after the alarm's id (with
        the ``changeLambdaPermissionLogicalIdForLambdaAction`` flag of new CDK apps), so one
        action shared by several consumers needs ids that differ between them.
        """
        view = self._views.get(attribute)
        if view is None:
            view = cloudwatch.Alarm.from_alarm_arn(
                self,
                f"{self._consumer_name}{ALARM_IDS[attribute]}Alarm",
                self.resources[attribute].attr_arn,
            )
            self._views[attribute] = view
        return view

    #: Messages wait in the dead-letter queue.
    dead_letter_queue_depth = _AlarmView()
    #: The oldest queued event is older than ``max_message_age``.
    oldest_message_age = _AlarmView()
    #: The function failed whole invocations.
    function_errors = _AlarmView()
    #: The function was throttled.
    function_throttles = _AlarmView()
    #: EventBridge could not deliver matched events to the queue.
    rule_failed_invocations = _AlarmView()
    #: The runtime reported records failed (its ``Failed`` metric).
    failed_records = _AlarmView()
    #: EventBridge dropped events it could not send to the undeliverable-events queue either.
    events_dropped = _AlarmView()

    @property
    def all(self) -> tuple[cloudwatch.IAlarm, ...]:
        """Every alarm, in the order of the attributes above."""
        return tuple(self.alarm(attribute) for attribute in ALARM_IDS)


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
    parent = construct.node.scope
    return (parent or construct).node.path


def _alarm_independent(action: cloudwatch.IAlarmAction) -> bool:
    """Whether ``action``'s ARN is the same for every alarm (an SNS topic's is).

    The exact class only: a subclass may bind differently.
    """
    return type(action) is cloudwatch_actions.SnsAction


def _cached_arn(action: cloudwatch.IAlarmAction) -> str | None:
    """The ARN ``action`` was bound to before, if it is the same for every alarm."""
    return _ALARM_INDEPENDENT_ARNS.get(action) if _alarm_independent(action) else None


def _known_arns(actions: Sequence[cloudwatch.IAlarmAction]) -> list[str] | None:
    """The ARNs of ``actions`` if each was bound before and is alarm-independent, else None."""
    if not actions:
        return None
    arns = []
    for action in actions:
        arn = _cached_arn(action)
        if arn is None:
            return None
        arns.append(arn)
    return arns


def add_actions(
    alarms: Sequence[cloudwatch.Alarm], actions: Sequence[cloudwatch.IAlarmAction]
) -> None:
    """Notify on both ALARM and OK, so whoever was paged also learns when it recovered."""
    if not actions:
        return
    for alarm in alarms:
        with _explain_permission_clash(partial(_parent_path, alarm)):
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
