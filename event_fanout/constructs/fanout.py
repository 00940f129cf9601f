"""The fan-out: one bus, one rule per consumer, and a safety net for undeliverable events."""

from __future__ import annotations

import hashlib
import re
import typing
from collections.abc import Callable, Sequence
from typing import Any, Unpack

from aws_cdk import Duration, Lazy, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from event_fanout.constructs import manifest
from event_fanout.constructs import nag_acknowledgements as nag
from event_fanout.constructs.consumer import FanoutConsumer
from event_fanout.constructs.consumer_alarms import add_actions, queue_depth_alarm
from event_fanout.constructs.consumer_shards import (
    DEFAULT_RESOURCE_BUDGET,
    ConsumersShard,
    FillingPlacement,
    Placement,
    StablePlacement,
)
from event_fanout.constructs.cross_account import CentralBus, admit_central_buses
from event_fanout.constructs.dashboard import FanoutDashboards
from event_fanout.constructs.encryption import (
    create_queue_key,
    encryption_problems,
    key_for_undeliverable_queue,
    queue_encryption_props,
)
from event_fanout.constructs.event_types import Producer, Producers, SchemaRegistry
from event_fanout.constructs.input_checks import (
    FANOUT_ARGUMENTS,
    bus_location_problems,
    type_problems,
)
from event_fanout.constructs.log_queries import FanoutLogQueries
from event_fanout.constructs.options import ConsumerOptions, FanoutMembership, HandlerOrFactory
from event_fanout.constructs.permissions import (
    allow_rule_to_use_key,
    allow_rules_to_send,
    bus_rules_arn_pattern,
    warn_if_key_cannot_admit_events,
)
from event_fanout.constructs.trouble_alarm import FanoutTroubleAlarms
from event_fanout.constructs.validation import Validator
from event_fanout.errors import EventFanoutConfigError

if typing.TYPE_CHECKING:
    from event_fanout.events.event_type import EventType

#: What EventBridge accepts as the name of a custom bus it creates.
BUS_NAME = re.compile(r"[A-Za-z0-9._\-]{1,256}")
#: CloudWatch dashboard names (255 at most), with room for a second dashboard's suffix.
DASHBOARD_NAME = re.compile(r"[A-Za-z0-9_\-]{1,200}")
#: EventBridge's default quota of rules per bus.
MAX_RULES_PER_BUS = 300


class EventFanout(Construct):
    """An EventBridge bus whose events fan out to any number of independent consumers.

    Every consumer gets its own rule, queue, DLQ, idempotency table and alarms (see
    :class:`FanoutConsumer`); one failing consumer never slows or loses another's events.

    Parameters
    ----------
    event_bus_name:
        Name of the custom bus to create. Default: None (generated).
    event_bus:
        Attach to an existing bus instead (e.g. ``EventBus.from_event_bus_name``). Mutually
        exclusive with ``event_bus_name``. Default: None.
    archive_retention:
        Keep every event on the bus for replay this long (``Duration.days(0)`` is "forever" in
        EventBridge; ``None`` means no archive): enough to rebuild a consumer after a bug is
        found in next month's retro, not so long that it costs a fortune. Default: 30 days.
    alarm_actions:
        Where every alarm of the fan-out and its consumers notifies, on ALARM and on OK.
        Default: ().
    undeliverable_retention_period:
        Retention of the queue for events EventBridge could not deliver. Default: 14 days.
    removal_policy:
        Applied to the undeliverable-events queue and passed to consumers.
        Default: None (CDK's defaults).
    encryption:
        ``SQS_MANAGED`` or ``KMS``; ``KMS`` without a key creates one shared by the fan-out's
        queues. ``KMS_MANAGED`` is refused: EventBridge cannot use the AWS-managed key.
        Default: None (KMS if ``encryption_key`` is given, else SQS-managed).
    encryption_key:
        Customer-managed key for the undeliverable-events queue and, by default, every
        consumer's queues. Default: None.
    consumers_per_stack:
        At most this many consumers in one template; more is a synth-time error (raise
        ``shards``). With ``allow_consumer_moves=True``: the fixed number of consumers per
        template. Default: None (no count limit).
    resource_budget:
        Resources one template may hold (CloudFormation's limit is 500); a consumer that would
        take a template past it is a synth-time error naming the fix. Default: 450.
    shards:
        Spread the consumers over this many nested stacks (``ConsumersShard1`` .. ``N``), each
        consumer's by a stable hash of its id: adding, removing or reordering consumers never
        moves another one (a moved consumer would get a new queue, DLQ and idempotency table).
        Consumers in shards need ``handler=`` a factory, so each function is created in its
        consumer's stack. Default: None (every consumer in the fan-out's stack).
    allow_consumer_moves:
        Fill the fan-out's stack, then ``ConsumersShard1``, ``2``, ... in the order consumers are
        added, up to ``resource_budget`` (or ``consumers_per_stack``) each: no ``shards`` to
        choose, but removing or inserting a consumer moves every consumer after it into another
        stack, replacing its queues and table. Default: False.
    dashboard:
        Build the fan-out's CloudWatch dashboard: a header (alarm status, events on the bus,
        undeliverable events) and a row per consumer, lag first (one dashboard per stack with
        consumers, continued past 40 consumers). Default: True.
    dashboard_name:
        Name of the dashboard (others get ``-<shard>`` / ``-<n>`` appended). Default: None
        (the fan-out's name, unique in the account).
    trouble_alarm:
        A composite alarm "a consumer is in trouble", in ALARM while any consumer alarm (or the
        undeliverable-events alarm) is: the one to page on. One per stack holding consumers,
        notifying ``alarm_actions``. Default: False.
    schema_registry:
        Publish every event type of the fan-out's consumers and producers to an EventBridge
        schema registry named after the fan-out (JSON Schema Draft 4, one schema per
        ``<source>@<detail-type>``), created with the first event type. Custom registries cost
        nothing; only schema discovery, not turned on, is charged. Default: True.
    receive_from:
        Central buses of other accounts whose forwarding rules (``EventForwarder``) may put
        events on this fan-out's bus: one bus-policy statement each, scoped to their account,
        their rules (``aws:SourceArn``) and, if given, their organisation. Needs a bus the
        fan-out creates. See docs/cross-account.md. Default: ().
    rules_per_bus_quota:
        The account's "Rules per event bus" quota, raised in Service Quotas; a consumer past it
        is a synth-time error (its rule would fail to deploy). Default: 300.

    Attributes
    ----------
    event_bus, archive, undeliverable_events_queue, undeliverable_events_alarm, consumers,
    producers, dashboards, log_queries, trouble_alarms, schema_registry

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
        shards: int | None = None,
        allow_consumer_moves: bool = False,
        dashboard: bool = True,
        dashboard_name: str | None = None,
        trouble_alarm: bool = False,
        schema_registry: bool = True,
        receive_from: Sequence[CentralBus] = (),
        rules_per_bus_quota: int = MAX_RULES_PER_BUS,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = type_problems(
            self.node.path,
            {
                "archive_retention": archive_retention,
                "alarm_actions": alarm_actions,
                "undeliverable_retention_period": undeliverable_retention_period,
            },
            FANOUT_ARGUMENTS,
        )
        if problems:
            raise EventFanoutConfigError(problems)
        v = Validator(self)
        v.require(
            event_bus_name is None
            or Token.is_unresolved(event_bus_name)
            or (BUS_NAME.fullmatch(event_bus_name) is not None and event_bus_name != "default"),
            "event_bus_name",
            event_bus_name,
            "must be 1-256 letters, digits, '.', '-' or '_', and not 'default' (the account's own "
            "bus, which cannot be created)",
            "pass a name such as 'orders-events', or event_bus=EventBus.from_event_bus_name(self, "
            "'Default', 'default') to attach to the default bus",
        )
        if event_bus is not None:
            v.extend(bus_location_problems(self, self.node.path, event_bus))
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
        for prop, count in (
            ("consumers_per_stack", consumers_per_stack),
            ("resource_budget", resource_budget),
            ("shards", shards),
        ):
            v.require(
                count is None or isinstance(count, int),
                prop,
                count,
                "must be a literal int: it decides at synth which template each consumer is in",
                f"pass {prop} as a number, not a token or parameter",
            )
        v.int_range("rules_per_bus_quota", rules_per_bus_quota, 1, 100_000)
        rule_limit = max(MAX_RULES_PER_BUS, rules_per_bus_quota)
        v.int_range("consumers_per_stack", consumers_per_stack, 1, rule_limit)
        v.int_range("resource_budget", resource_budget, 50, 500)
        v.int_range("shards", shards, 1, rule_limit)
        #: The account's quota of rules per bus (EventBridge's default: 300): one per consumer.
        self.rules_per_bus_quota = rules_per_bus_quota
        v.require(
            not (allow_consumer_moves and shards is not None),
            "shards",
            shards,
            "cannot be combined with allow_consumer_moves=True (which places consumers by order)",
            "drop one of them: shards for stable placement",
        )
        v.require(
            isinstance(dashboard, bool),
            "dashboard",
            dashboard,
            "must be True or False",
            "pass dashboard=False to build no dashboard",
        )
        v.require(
            dashboard_name is None
            or (
                isinstance(dashboard_name, str)
                and DASHBOARD_NAME.fullmatch(dashboard_name) is not None
            ),
            "dashboard_name",
            dashboard_name,
            "must be 1-200 letters, digits, '-' or '_' (CloudWatch's dashboard names, with room "
            "for the suffix of a second dashboard)",
            "pass a name such as 'orders-fanout', or None for a generated one",
        )
        v.extend(encryption_problems(self.node.path, encryption, encryption_key))
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
        # Consumers of a central bus in another account: its forwarding rules may put events.
        admit_central_buses(self, self.event_bus, receive_from)
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

        #: Unique in the account: the ``service`` dimension of every consumer's metrics, so two
        #: fan-outs' consumers of the same id never share metrics.
        self.name = Names.unique_resource_name(self, max_length=64, separator="-")
        #: On a bus this fan-out did not create, its consumers' rules are named with this
        #: prefix, so the undeliverable-events queue (and key) admit its rules, not the bus's
        #: (on the default bus: every rule of the account).
        self.rule_name_prefix: str | None = None if event_bus is None else self.name + "-"
        undeliverable_key = key_for_undeliverable_queue(self.encryption_key)
        # EventBridge's dead-letter queue must be a standard queue, whatever the consumers use.
        self.undeliverable_events_queue = sqs.Queue(
            self,
            "UndeliverableEvents",
            **queue_encryption_props(undeliverable_key),
            enforce_ssl=True,
            retention_period=undeliverable_retention_period,
            removal_policy=removal_policy,
        )
        # One statement for every rule of the fan-out, whatever the number of consumers: one
        # per rule would break SQS's limit of 20 statements per queue policy.
        bus_rules = bus_rules_arn_pattern(scope, self.event_bus, self.rule_name_prefix)
        allow_rules_to_send(
            self.undeliverable_events_queue,
            bus_rules,
            principal=iam.ServicePrincipal("events.amazonaws.com"),
            like=True,
        )
        admitting: list[IConstruct] = [self.undeliverable_events_queue]
        if self.encryption_key is not None:
            allow_rule_to_use_key(self.encryption_key, self, bus_rules, like=True)
            warn_if_key_cannot_admit_events(self, self.encryption_key, bus_rules, like=True)
            if undeliverable_key is not None:
                admitting.append(self.encryption_key)
        self._membership = FanoutMembership(name=self.name, admitting_policies=tuple(admitting))
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
        self._placement: Placement = (
            FillingPlacement(self, self._consumers_scope, consumers_per_stack, resource_budget)
            if allow_consumer_moves
            else StablePlacement(
                self, self._consumers_scope, shards, consumers_per_stack, resource_budget
            )
        )
        self.consumers: dict[str, FanoutConsumer] = {}
        #: The fan-out's CloudWatch dashboards (one per stack with consumers); None if off.
        self.dashboards: FanoutDashboards | None = (
            FanoutDashboards(
                self,
                event_bus=self.event_bus,
                undeliverable_events_queue=self.undeliverable_events_queue,
                undeliverable_events_alarm=self.undeliverable_events_alarm,
                # A name known at synth: the alarms link the dashboard, which shows the alarms
                # (a generated name would be a reference, and the two would depend on each other).
                dashboard_name=dashboard_name or self.name,
            )
            if dashboard
            else None
        )
        #: Saved Logs Insights queries over the consumers' logs (one set per stack).
        self.log_queries = FanoutLogQueries(self)
        #: The composite "a consumer is in trouble" alarms (one per stack); None if off.
        self.trouble_alarms: FanoutTroubleAlarms | None = (
            FanoutTroubleAlarms(
                self,
                undeliverable_events_alarm=self.undeliverable_events_alarm,
                alarm_actions=self.alarm_actions,
            )
            if trouble_alarm
            else None
        )
        self._schema_registry_enabled = schema_registry
        #: The schema registry of the fan-out's event types (created with the first); None
        #: until then, or when ``schema_registry=False``.
        self.schema_registry: SchemaRegistry | None = None
        #: The producers declared with :meth:`add_producer`: id -> the event types it publishes.
        self.producers: dict[str, Producer] = {}
        self._describe()

    def _describe(self) -> None:
        """The fan-out's entry for the operating tools (``constructs/manifest.py``)."""
        holder = self.undeliverable_events_queue
        manifest.describe(
            holder,
            "fanout",
            {
                "name": self.name,
                "path": self.node.path,
                "bus": manifest.reference(holder, self.event_bus, self.event_bus.event_bus_name),
                "archive": manifest.reference(holder, self.archive),
                "undeliverableEventsQueue": manifest.reference(holder, holder),
                "undeliverableEventsAlarm": manifest.reference(
                    holder, self.undeliverable_events_alarm
                ),
                # Producers are added after the fan-out: rendered at synth.
                "producers": Lazy.any(Producers(self.producers), omit_empty_array=True),
            },
        )

    def add_consumer(
        self,
        consumer_id: str,
        *,
        handler: HandlerOrFactory,
        **options: Unpack[ConsumerOptions],
    ) -> FanoutConsumer:
        """Add a consumer; the keyword arguments are :class:`FanoutConsumer`'s but the bus.

        The fan-out supplies the bus, its undeliverable-events queue, its alarm actions and its
        removal policy unless the consumer overrides them.

        ``handler`` may be a function or a factory ``(scope) -> aws_lambda.Function``. A factory
        is called with a scope in the stack the consumer goes into, so a consumer moved into a
        nested stack takes its function (and the function's role and log group) with it: the
        way to grow a fan-out past one stack.
        """
        props: dict[str, Any] = dict(options)
        v = Validator(self)
        v.require(
            consumer_id not in self.consumers,
            "consumer_id",
            consumer_id,
            "must be unique within the fan-out",
            "give each consumer its own id (it names its rule, queues and table)",
        )
        v.require(
            len(self.consumers) < self.rules_per_bus_quota,
            "consumers",
            len(self.consumers) + 1,
            f"exceeds the quota of {self.rules_per_bus_quota} rules per event bus (one rule "
            f"per consumer; EventBridge's default is {MAX_RULES_PER_BUS})",
            "request a higher 'Rules per event bus' quota in Service Quotas and pass it as "
            "EventFanout(rules_per_bus_quota=...), or put further consumers on a second bus "
            "(a second EventFanout)",
        )
        v.require(
            "event_bus" not in props,
            "event_bus",
            props.get("event_bus"),
            "is set by the fan-out for its consumers",
            "drop event_bus from add_consumer(...)",
        )
        v.raise_if_any()
        if self.rule_name_prefix is not None:
            given = props.get("rule_name")
            v.require(
                given is None or str(given).startswith(self.rule_name_prefix),
                "rule_name",
                given,
                f"must start with {self.rule_name_prefix!r} on a bus this fan-out did not "
                "create: the undeliverable-events queue admits only the fan-out's rules",
                "drop rule_name (the fan-out names the rule), or prefix it",
            )
            v.raise_if_any()
            props.setdefault("rule_name", consumer_rule_name(self.rule_name_prefix, consumer_id))
        props.setdefault("fanout", self._membership)
        props.setdefault("alarm_actions", self.alarm_actions)
        props.setdefault("target_dead_letter_queue", self.undeliverable_events_queue)
        props.setdefault("removal_policy", self.removal_policy)
        if "encryption" not in props and "encryption_key" not in props:
            props["encryption"] = self.encryption
            props["encryption_key"] = self.encryption_key
        target = self._placement.next_scope(consumer_id)
        if isinstance(handler, Construct):
            self._require_same_stack(consumer_id, handler, target)
        created: list[Construct] = []
        function = handler
        if callable(handler) and not isinstance(handler, Construct):
            factory: Callable[[Construct], lambda_.IFunction] = handler
            handler_scope = Construct(target, f"{consumer_id}Handler")
            function = factory(handler_scope)
            created.append(handler_scope)
        consumer = FanoutConsumer(
            target,
            consumer_id,
            event_bus=self.event_bus,
            handler=typing.cast(lambda_.IFunction, function),
            **props,
        )
        # A handler built elsewhere gets the event source mapping in its own stack.
        self._placement.placed([consumer, *created], extra=0 if created else 1)
        self.consumers[consumer_id] = consumer
        if self.dashboards is not None:
            self.dashboards.add_consumer(consumer)
        self.log_queries.add_consumer(consumer)
        if self.trouble_alarms is not None:
            self.trouble_alarms.add_consumer(consumer)
        if consumer.event_type is not None:
            self._document(consumer.event_type)
        return consumer

    def add_producer(
        self,
        producer_id: str,
        *,
        event_types: Sequence[EventType[Any]],
        grantee: iam.IGrantable | None = None,
    ) -> Producer:
        """Declare who publishes which event types to the bus (``grantee``: may ``PutEvents``).

        ``event-fanout contracts check`` then knows which versions are still published: a
        consumer accepting a version no producer publishes is reported. ``grantee=None``
        declares a producer outside this app (another team's service), without a grant.
        """
        from event_fanout.events.event_type import EventType

        v = Validator(self)
        v.require(
            producer_id not in self.producers,
            "producer_id",
            producer_id,
            "must be unique within the fan-out",
            "give each producer its own id",
        )
        types = list(event_types)
        v.require(
            bool(types) and all(isinstance(t, EventType) for t in types),
            "event_types",
            event_types,
            "must list the event_fanout.events.EventType instances the producer publishes",
            "pass event_types=[OrderPlaced, ...]",
        )
        v.raise_if_any()
        if grantee is not None:
            self.event_bus.grant_put_events_to(grantee)
        producer = Producer(producer_id, tuple(types), external=grantee is None)
        self.producers[producer_id] = producer
        for event_type in types:
            self._document(event_type)
        return producer

    def _document(self, event_type: EventType[Any]) -> None:
        """Publish ``event_type`` to the fan-out's schema registry (created with the first)."""
        if not self._schema_registry_enabled:
            return
        if self.schema_registry is None:
            self.schema_registry = SchemaRegistry(self, "Schemas", registry_name=self.name)
        self.schema_registry.add(event_type)

    def _require_same_stack(self, consumer_id: str, handler: Construct, target: Construct) -> None:
        """Refuse a handler defined in another stack than the consumer's.

        The two stacks would depend on each other (the function reads the queue; the mapping
        and the grants name the function): CloudFormation refuses the cycle, and aws-cdk
        reports it only at ``app.synth()``, as a raw ``DependencyCycle``.
        """
        handler_stack, target_stack = Stack.of(handler), Stack.of(target)
        if handler_stack is target_stack:
            return
        v = Validator(self)
        v.require(
            False,
            "handler",
            handler,
            f"is defined in stack {handler_stack.node.path!r} but consumer {consumer_id!r} is "
            f"placed in {target_stack.node.path!r}: the two stacks would reference each "
            "other, a cycle CloudFormation refuses",
            "pass handler= a factory, `lambda scope: aws_lambda.Function(scope, 'Fn', ...)`, "
            "so the function is created in the consumer's stack, or define the function in "
            "the stack the consumer is in",
        )
        v.raise_if_any()

    @property
    def shards(self) -> tuple[ConsumersShard, ...]:
        """The nested stacks holding consumers, in creation order (empty if all fit here)."""
        return tuple(self._placement.shards)


#: EventBridge's limit on a rule's name.
MAX_RULE_NAME_LENGTH = 64


def consumer_rule_name(prefix: str, consumer_id: str) -> str:
    """``<prefix><consumer id>``, within EventBridge's 64 characters and unique per consumer.

    A long id is cut and given a digest of the whole id, so two long ids sharing their start
    still get different names.

    Examples
    --------
    >>> consumer_rule_name("Stack-Orders-1A2B3C4D-", "Audit")
    'Stack-Orders-1A2B3C4D-Audit'
    >>> len(consumer_rule_name("Stack-Orders-1A2B3C4D-", "A" * 64))
    64

    """
    name = prefix + consumer_id
    if len(name) <= MAX_RULE_NAME_LENGTH:
        return name
    digest = hashlib.sha256(consumer_id.encode()).hexdigest()[:8].upper()
    return name[: MAX_RULE_NAME_LENGTH - len(digest) - 1] + "-" + digest
