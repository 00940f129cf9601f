"""The fan-out: one bus, one rule per consumer, and a safety net for undeliverable events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from event_fanout.constructs import nag_acknowledgements as nag
from event_fanout.constructs.consumer import FanoutConsumer
from event_fanout.constructs.consumer_alarms import add_actions, queue_depth_alarm
from event_fanout.constructs.consumer_shards import (
    DEFAULT_RESOURCE_BUDGET,
    ConsumerPlacement,
    ConsumersShard,
)
from event_fanout.constructs.encryption import (
    allow_rule_to_use_key,
    bus_rules_arn_pattern,
    check_encryption,
    create_queue_key,
    mark_bus_wide,
    queue_encryption_props,
)
from event_fanout.constructs.lookups import events_principal
from event_fanout.constructs.queue_target import allow_rules_to_send
from event_fanout.constructs.validation import Validator

#: EventBridge's default quota of rules per bus.
MAX_RULES_PER_BUS = 300


class EventFanout(Construct):
    """An EventBridge bus whose events fan out to any number of independent consumers.

    Every consumer gets its own rule, queue, DLQ, idempotency table and alarms (see
    :class:`FanoutConsumer`); one failing consumer never slows or loses another's events.

    Parameters
    ----------
    event_bus_name:
        Name of the custom bus to create. Default: a generated name.
    event_bus:
        Attach to an existing bus instead (e.g. ``EventBus.from_event_bus_name``). Mutually
        exclusive with ``event_bus_name``.
    archive_retention:
        Keep every event on the bus for replay this long (``Duration.days(0)`` is "forever" in
        EventBridge; ``None`` means no archive). Default 30 days: enough to rebuild a consumer
        after a bug is found in next month's retro, not so long that it costs a fortune.
    alarm_actions:
        Where every alarm of the fan-out and its consumers notifies, on ALARM and on OK.
    undeliverable_retention_period:
        Retention of the queue for events EventBridge could not deliver. Default 14 days.
    removal_policy:
        Applied to the undeliverable-events queue and passed to consumers by default.
    consumers_per_stack:
        How many consumers one CloudFormation template holds before the next ones go into a
        nested stack (``ConsumersShard1``, ``2``, ...). Default ``None``: automatic, the
        fan-out's stack is filled up to ``resource_budget`` resources, then each shard is. A
        fan-out that fits in its stack gets no nested stack. For consumers to move into a
        shard with their function, pass ``handler=`` a factory (see :meth:`add_consumer`).
    resource_budget:
        Resources per template the automatic mode fills up to (CloudFormation's limit is 500).

    Attributes
    ----------
    event_bus, archive, undeliverable_events_queue, undeliverable_events_alarm, consumers

    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_bus_name: str | None = None,
        event_bus: events.IEventBus | None = None,
        archive_retention: Duration | None = Duration.days(30),
        alarm_actions: Sequence[cloudwatch.IAlarmAction] = (),
        undeliverable_retention_period: Duration = Duration.days(14),
        removal_policy: RemovalPolicy | None = None,
        consumers_per_stack: int | None = None,
        resource_budget: int = DEFAULT_RESOURCE_BUDGET,
        encryption: sqs.QueueEncryption | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        v = Validator(self)
        v.require(
            not (event_bus is not None and event_bus_name is not None),
            "event_bus_name",
            event_bus_name,
            "cannot be combined with event_bus",
            "pass event_bus= to attach to an existing bus, or event_bus_name= to create one",
        )
        v.seconds_range("archive_retention", archive_retention, 0, 10 * 365 * 86_400)
        v.seconds_range(
            "undeliverable_retention_period", undeliverable_retention_period, 60, 14 * 86_400
        )
        v.int_range("consumers_per_stack", consumers_per_stack, 1, MAX_RULES_PER_BUS)
        v.int_range("resource_budget", resource_budget, 50, 500)
        check_encryption(v, encryption, encryption_key)
        v.raise_if_any()

        self.alarm_actions = tuple(alarm_actions)
        self.removal_policy = removal_policy
        self.encryption = encryption
        #: Key of the fan-out's queues (and its consumers', unless they pass their own).
        self.encryption_key: kms.IKey | None = encryption_key
        if encryption == sqs.QueueEncryption.KMS and encryption_key is None:
            self.encryption_key = create_queue_key(
                self, "QueueKey", f"Encrypts the queues of {self.node.path}", removal_policy
            )
        self.event_bus: events.IEventBus = event_bus or events.EventBus(
            self, "Bus", event_bus_name=event_bus_name
        )
        self.archive: events.Archive | None = None
        if archive_retention is not None:
            self.archive = events.Archive(
                self,
                "Archive",
                source_event_bus=self.event_bus,
                # Every event published to this bus (an account filter matches them all).
                event_pattern=events.EventPattern(account=[self.event_bus.env.account]),
                retention=archive_retention,  # 0 days: EventBridge keeps events indefinitely
                description="All events on the fan-out bus, for replay after a consumer fix",
            )

        # EventBridge's dead-letter queue must be a standard queue, whatever the consumers use.
        self.undeliverable_events_queue = sqs.Queue(
            self,
            "UndeliverableEvents",
            **queue_encryption_props(self.encryption_key),
            enforce_ssl=True,
            retention_period=undeliverable_retention_period,
            removal_policy=removal_policy,
        )
        # One statement for every rule on the bus, whatever the number of consumers: one per
        # rule would break SQS's limit of 20 statements per queue policy.
        bus_rules = bus_rules_arn_pattern(scope, self.event_bus)
        allow_rules_to_send(
            self.undeliverable_events_queue,
            bus_rules,
            principal=events_principal(scope),
            like=True,
        )
        mark_bus_wide(self.undeliverable_events_queue)
        if self.encryption_key is not None:
            allow_rule_to_use_key(self.encryption_key, self, bus_rules, like=True)
            mark_bus_wide(self.encryption_key)
        nag.acknowledge(self.undeliverable_events_queue, nag.DEAD_LETTER_QUEUE)
        self.undeliverable_events_alarm = queue_depth_alarm(
            self,
            "UndeliverableEventsDepth",
            self.undeliverable_events_queue,
            description=(
                "EventBridge exhausted its retries delivering events to a consumer queue; "
                "the events wait in the undeliverable-events queue. Check the queue policy and "
                "key policy of the failing consumer (RuleFailedInvocations alarm), then resend."
            ),
        )
        add_actions([self.undeliverable_events_alarm], self.alarm_actions)
        self._consumers_scope = Construct(self, "Consumers")
        self._placement = ConsumerPlacement(
            self, self._consumers_scope, consumers_per_stack, resource_budget
        )
        self.consumers: dict[str, FanoutConsumer] = {}

    def add_consumer(self, consumer_id: str, **props: Any) -> FanoutConsumer:
        """Add a consumer; keyword arguments are :class:`FanoutConsumer`'s.

        The fan-out supplies the bus, its undeliverable-events queue, its alarm actions and its
        removal policy unless the consumer overrides them.

        ``handler`` may be a function or a factory ``(scope) -> aws_lambda.Function``. A factory
        is called with a scope in the stack the consumer goes into, so a consumer moved into a
        nested stack takes its function (and the function's role and log group) with it: the
        way to grow a fan-out past one stack.
        """
        v = Validator(self)
        v.require(
            consumer_id not in self.consumers,
            "consumer_id",
            consumer_id,
            "must be unique within the fan-out",
            "give each consumer its own id (it names its rule, queues and table)",
        )
        v.require(
            len(self.consumers) < MAX_RULES_PER_BUS,
            "consumers",
            len(self.consumers) + 1,
            f"exceeds EventBridge's default quota of {MAX_RULES_PER_BUS} rules per bus",
            "raise the quota with AWS Support first, or split the fan-out across buses",
        )
        v.require(
            "event_bus" not in props,
            "event_bus",
            props.get("event_bus"),
            "is set by the fan-out for its consumers",
            "drop event_bus from add_consumer(...)",
        )
        v.raise_if_any()
        props.setdefault("alarm_actions", self.alarm_actions)
        props.setdefault("target_dead_letter_queue", self.undeliverable_events_queue)
        props.setdefault("removal_policy", self.removal_policy)
        if "encryption" not in props and "encryption_key" not in props:
            props["encryption"] = self.encryption
            props["encryption_key"] = self.encryption_key
        target = self._placement.next_scope()
        created: list[Construct] = []
        handler = props.get("handler")
        if callable(handler) and not isinstance(handler, Construct):
            factory: Callable[[Construct], lambda_.IFunction] = handler
            handler_scope = Construct(target, f"{consumer_id}Handler")
            props["handler"] = factory(handler_scope)
            created.append(handler_scope)
        consumer = FanoutConsumer(target, consumer_id, event_bus=self.event_bus, **props)
        # A handler built elsewhere gets the event source mapping in its own stack.
        self._placement.placed([consumer, *created], extra=0 if created else 1)
        self.consumers[consumer_id] = consumer
        return consumer

    @property
    def shards(self) -> tuple[ConsumersShard, ...]:
        """The nested stacks holding consumers, in creation order (empty if all fit here)."""
        return tuple(self._placement.shards)
