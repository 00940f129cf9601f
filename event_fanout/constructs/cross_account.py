"""Consumers in other accounts: a central bus forwards each team its events, to the team's bus.

Large organisations run one central bus and let each team consume in its own account. A rule
can only be created on a bus of its own account (``EventFanout`` refuses an imported bus of
another account for that reason), so the events cross accounts bus to bus:

- **Central side** (the central bus's account): :class:`EventForwarder`, a rule on the central
  bus with the team's pattern, targeting the team's bus by ARN through an IAM role EventBridge
  assumes (the way AWS recommends for bus targets), whose trust is limited to that rule
  (``aws:SourceAccount``, ``aws:SourceArn``) and whose permission is ``events:PutEvents`` on
  that bus alone. What EventBridge cannot deliver waits in the forwarder's own encrypted
  dead-letter queue, with an alarm.
- **Team side** (the team's account): an ``EventFanout`` on a bus it creates, with
  ``receive_from=[CentralBus(arn, rule_names=[...], organization_id=...)]``: the bus's resource
  policy admits ``events:PutEvents`` from the central account only, for events sent by those
  rules (``aws:SourceArn``; by default any rule of the central bus) and, when given, from the
  organisation (``aws:PrincipalOrgID``). Nothing broader.

The two sides are two stacks in two environments, wired by ARNs and names (a cross-environment
reference is impossible), so each can be deployed by its own team's pipeline.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import jsii
from aws_cdk import Aws, Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from event_fanout.constructs import nag_acknowledgements as nag
from event_fanout.constructs.consumer_alarms import add_actions, queue_depth_alarm
from event_fanout.constructs.validation import Validator

if TYPE_CHECKING:
    from event_fanout.events.event_type import EventType

__all__ = ["CentralBus", "EventForwarder", "admit_central_buses", "bus_arn_parts"]

#: An event bus ARN: partition, region, account, name.
BUS_ARN: Final = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):events:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"event-bus/(?P<name>[A-Za-z0-9._\-/]{1,256})$"
)
#: What EventBridge accepts as a rule name.
RULE_NAME: Final = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
#: An AWS Organizations id.
ORGANIZATION_ID: Final = re.compile(r"^o-[a-z0-9]{10,32}$")


def bus_arn_parts(arn: str) -> dict[str, str] | None:
    """The partition, region, account and name of a bus ARN (None: not a bus ARN)."""
    match = BUS_ARN.match(arn)
    return match.groupdict() if match else None


@dataclass(frozen=True)
class CentralBus:
    """A bus in another account whose forwarding rules may put events on a fan-out's bus.

    Parameters
    ----------
    event_bus_arn:
        The central bus's ARN (``arn:aws:events:<region>:<account>:event-bus/<name>``).
    rule_names:
        The names of the central bus's rules that forward to this fan-out (each
        ``EventForwarder``'s ``rule_name``). Default: () (any rule of that bus).
    organization_id:
        Also require the sender to be in this AWS Organization (``o-...``). Default: None.

    """

    event_bus_arn: str
    rule_names: Sequence[str] = field(default_factory=tuple)
    organization_id: str | None = None

    def problems(self, v: Validator, argument: str) -> None:
        """Record what is wrong with this description in ``v``."""
        parts = bus_arn_parts(self.event_bus_arn)
        v.require(
            parts is not None,
            f"{argument}.event_bus_arn",
            self.event_bus_arn,
            "must be an event bus ARN, arn:<partition>:events:<region>:<account>:event-bus/<name>",
            "pass the central bus's ARN as its owners publish it",
        )
        bad_rules = [name for name in self.rule_names if not RULE_NAME.match(str(name))]
        v.require(
            not bad_rules,
            f"{argument}.rule_names",
            bad_rules,
            "must be rule names (1-64 letters, digits, '.', '-', '_')",
            "pass the rule_name of each EventForwarder that forwards to this fan-out",
        )
        v.require(
            self.organization_id is None or bool(ORGANIZATION_ID.match(self.organization_id)),
            f"{argument}.organization_id",
            self.organization_id,
            "must be an AWS Organizations id, o- followed by 10 to 32 letters or digits",
            "pass the organization id (aws organizations describe-organization), or leave it out",
        )

    def statement(self, bus: events.IEventBus) -> iam.PolicyStatement:
        """The bus policy statement that admits this central bus's forwarding rules."""
        parts = bus_arn_parts(self.event_bus_arn)
        assert parts is not None  # validated
        rule_prefix = (
            f"arn:{parts['partition']}:events:{parts['region']}:{parts['account']}:"
            f"rule/{parts['name']}/"
        )
        conditions: dict[str, Any] = (
            {"ArnEquals": {"aws:SourceArn": [rule_prefix + name for name in self.rule_names]}}
            if self.rule_names
            else {"ArnLike": {"aws:SourceArn": rule_prefix + "*"}}
        )
        if self.organization_id is not None:
            conditions["StringEquals"] = {"aws:PrincipalOrgID": self.organization_id}
        digest = hashlib.sha256(self.event_bus_arn.encode()).hexdigest()[:10]
        return iam.PolicyStatement(
            sid=f"ReceiveFromCentralBus{digest}",
            actions=["events:PutEvents"],
            principals=[iam.AccountPrincipal(parts["account"])],
            resources=[bus.event_bus_arn],
            conditions=conditions,
        )


def admit_central_buses(
    scope: Construct, bus: events.IEventBus, central_buses: Sequence[CentralBus]
) -> None:
    """Add to ``bus``'s resource policy one statement per central bus (validated first)."""
    v = Validator(scope)
    for index, central in enumerate(central_buses):
        v.require(
            isinstance(central, CentralBus),
            f"receive_from[{index}]",
            central,
            "must be a CentralBus",
            "pass receive_from=[CentralBus(event_bus_arn=..., rule_names=[...])]",
        )
        if isinstance(central, CentralBus):
            central.problems(v, f"receive_from[{index}]")
    v.require(
        not central_buses or isinstance(bus, events.EventBus),
        "receive_from",
        central_buses,
        "needs a bus the fan-out creates (the policy of a bus created elsewhere is its owner's)",
        "drop event_bus= and let the fan-out create its bus (event_bus_name=...), or add the "
        "CentralBus statement to that bus's own policy",
    )
    v.raise_if_any()
    if isinstance(bus, events.EventBus):
        for central in central_buses:
            bus.add_to_resource_policy(central.statement(bus))


@jsii.implements(events.IRuleTarget)
class _TeamBusTarget:
    """The team's bus as a target, through ``role``, dead-lettering to ``dead_letter_queue``.

    Not aws-events-targets' ``EventBus``: it adds its ``PutEvents`` statement to the role as
    an inline policy (which the HIPAA and NIST packs refuse); the forwarder's managed policy
    already grants exactly that. EventBridge's maximum retries, as for consumers.
    """

    def __init__(self, bus_arn: str, role: iam.IRole, dead_letter_queue: sqs.IQueue) -> None:
        self._bus_arn = bus_arn
        self._role = role
        self._dead_letter_queue = dead_letter_queue

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        """Return the target's CloudFormation shape; the forwarder grants what it needs."""
        return events.RuleTargetConfig(
            arn=self._bus_arn,
            role=self._role,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                arn=self._dead_letter_queue.queue_arn
            ),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=185, maximum_event_age_in_seconds=86_400
            ),
        )


class EventForwarder(Construct):
    """A rule on the central bus forwarding a team's events to the team's bus in its account.

    Parameters
    ----------
    event_bus:
        The central bus (of this stack's account and region).
    target_bus_arn:
        The team's bus (``arn:aws:events:<region>:<account>:event-bus/<name>``): another
        account, or another region.
    rule_name:
        The rule's name: the team's ``CentralBus(rule_names=[...])`` admits it by name.
    event_pattern:
        Which events to forward. Default: None (from ``event_types``).
    event_types:
        Forward these event types (one source, one or more detail-types). Default: ().
    alarm_actions:
        Where the undelivered-events alarm notifies, on ALARM and on OK. Default: ().

    Attributes
    ----------
    rule, role, dead_letter_queue, dead_letter_alarm

    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_bus: events.IEventBus,
        target_bus_arn: str,
        rule_name: str,
        event_pattern: events.EventPattern | None = None,
        event_types: Sequence[EventType[Any]] = (),
        alarm_actions: Sequence[cloudwatch.IAlarmAction] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        pattern = self._validate(event_bus, target_bus_arn, rule_name, event_pattern, event_types)
        self._create_rule(event_bus, rule_name, pattern)
        self._create_role(event_bus, rule_name, target_bus_arn)
        self._create_dead_letter_queue(alarm_actions)
        self.rule.add_target(_TeamBusTarget(target_bus_arn, self.role, self.dead_letter_queue))

    # -- validate -----------------------------------------------------------------------------

    def _validate(
        self,
        event_bus: events.IEventBus,
        target_bus_arn: str,
        rule_name: str,
        event_pattern: events.EventPattern | None,
        event_types: Sequence[EventType[Any]],
    ) -> events.EventPattern:
        from event_fanout.constructs.input_checks import bus_location_problems

        v = Validator(self)
        v.extend(bus_location_problems(self, self.node.path, event_bus))
        target = None if Token.is_unresolved(target_bus_arn) else bus_arn_parts(target_bus_arn)
        v.require(
            target is not None,
            "target_bus_arn",
            target_bus_arn,
            "must be the team's event bus ARN, arn:<partition>:events:<region>:<account>:"
            "event-bus/<name>, known at synth",
            "pass the ARN the team's stack publishes (its EventFanout's event_bus.event_bus_arn)",
        )
        v.require(
            isinstance(rule_name, str) and bool(RULE_NAME.match(rule_name)),
            "rule_name",
            rule_name,
            "must be 1-64 letters, digits, '.', '-' or '_' (the team's bus policy names it)",
            "pass rule_name='<team>-forward', and the same name in the team's CentralBus",
        )
        sources = sorted({t.source for t in event_types})
        v.require(
            (event_pattern is None) != (not event_types),
            "event_pattern",
            event_pattern,
            "exactly one of event_pattern and event_types is required",
            "pass event_types=[...] (the team's subscriptions) or an event_pattern",
        )
        v.require(
            len(sources) <= 1,
            "event_types",
            [t.name for t in event_types],
            "must share one source (a pattern of several sources and detail-types would also "
            "match their crossings)",
            "use one EventForwarder per source",
        )
        v.raise_if_any()
        if event_pattern is not None:
            return event_pattern
        return events.EventPattern(
            source=sources, detail_type=sorted({t.detail_type for t in event_types})
        )

    # -- rule, role, dead letters -----------------------------------------------------------

    def _create_rule(
        self, event_bus: events.IEventBus, rule_name: str, pattern: events.EventPattern
    ) -> None:
        self.rule = events.Rule(
            self, "Rule", event_bus=event_bus, rule_name=rule_name, event_pattern=pattern
        )

    def _create_role(self, event_bus: events.IEventBus, rule_name: str, target: str) -> None:
        """A role only this rule can use, allowed to put events on the team's bus alone.

        The rule's ARN is written out (not the rule's attribute): the rule's target names the
        role, so the role's trust naming the rule's attribute would be a cycle.
        """
        stack = Stack.of(self)
        rule_arn = (
            f"arn:{Aws.PARTITION}:events:{stack.region}:{stack.account}:"
            f"rule/{event_bus.event_bus_name}/{rule_name}"
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {"aws:SourceArn": rule_arn},
                },
            ),
            description=f"EventBridge forwards {rule_name} to {target}",
        )
        # A managed policy, not an inline one (the HIPAA and NIST packs refuse inline policies).
        iam.ManagedPolicy(
            self,
            "PutEventsOnTeamBus",
            statements=[iam.PolicyStatement(actions=["events:PutEvents"], resources=[target])],
            roles=[self.role],
        )

    def _create_dead_letter_queue(self, alarm_actions: Sequence[cloudwatch.IAlarmAction]) -> None:
        """Where EventBridge leaves what it could not forward, kept 14 days, with an alarm."""
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        nag.acknowledge(self.dead_letter_queue, nag.DEAD_LETTER_QUEUE)
        # EventBridge may leave this rule's undelivered events here, and no other rule's.
        self.dead_letter_queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.dead_letter_queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.rule.rule_arn}},
            )
        )
        self.dead_letter_alarm = queue_depth_alarm(
            self,
            "DeadLetterDepth",
            self.dead_letter_queue,
            description=(
                f"{self.node.path}: EventBridge could not forward events to the team's bus; "
                "they wait in this dead-letter queue and the team has not seen them. First: the "
                "team bus's policy (its CentralBus must name this rule) and this rule's role."
            ),
        )
        add_actions([self.dead_letter_alarm], alarm_actions)
