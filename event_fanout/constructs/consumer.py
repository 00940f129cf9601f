"""One consumer of the fan-out: rule -> queue (+ DLQ) -> Lambda, idempotent and alarmed."""

from __future__ import annotations

import typing
from typing import Unpack

from aws_cdk import Annotations, Duration, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from event_fanout.constructs import manifest
from event_fanout.constructs import nag_acknowledgements as nag
from event_fanout.constructs.consumer_alarms import (
    ConsumerAlarms,
    add_actions,
    queue_depth_alarm,
)
from event_fanout.constructs.consumer_rules import (
    BOUND_MARKER,
    ConsumerDerived,
    consumer_facts,
    consumer_problems,
    consumer_warnings,
    derive,
    input_problems,
)
from event_fanout.constructs.encryption import (
    create_queue_key,
    key_for_undeliverable_queue,
    queue_encryption_props,
)
from event_fanout.constructs.event_types import contract_entry
from event_fanout.constructs.idempotency_table import IdempotencyTable
from event_fanout.constructs.lookups import runtime_facts, seconds_of, stack_facts
from event_fanout.constructs.options import (
    ConsumerOptions,
    ConsumerProps,
    FanoutMembership,
    Idempotency,
    consumer_props,
)
from event_fanout.constructs.permissions import (
    allow_function_to_dead_letter,
    allow_rule_to_use_key,
    allow_rules_to_send,
    grant_idempotency_access,
    rule_arn,
    warn_if_key_cannot_admit_events,
)
from event_fanout.constructs.queue_target import ConsumerQueueTarget
from event_fanout.constructs.runtime_layer import RuntimeLayer, powertools_layer_arn
from event_fanout.constructs.validation import Validator
from event_fanout.errors import EventFanoutConfigError
from event_fanout.runtime import constants

#: Lambda's limit on a function's environment variables (names and values), in bytes.
LAMBDA_ENVIRONMENT_LIMIT = 4096


class FanoutConsumer(Construct):
    """A rule on the bus feeding this consumer's own encrypted queue, drained by its Lambda.

    What each part is for:

    - ``rule``: the consumer's event pattern; its target retries for ``max_event_age`` and then
      sends what it could not deliver to the undeliverable-events queue, so nothing is dropped.
    - ``queue``: buffers bursts (back-pressure), with a visibility timeout derived from the
      function (6 x timeout + batching window) so a slow batch is never handed out twice.
    - ``dead_letter_queue``: receives a message after ``max_receive_count`` failures, keeps it
      longer than the source queue (SQS keeps the original enqueue time), and may only be
      redriven back to this queue.
    - ``idempotency_table``: lets the runtime skip duplicates (SQS and EventBridge are
      at-least-once; a crash between the effect and the delete redelivers).
    - ``alarms``: DLQ depth, oldest-message age, function errors and throttles, records the
      runtime reported failed, rule delivery failures and events EventBridge dropped.

    The arguments besides ``event_bus`` and ``handler`` are :class:`ConsumerOptions`; what each
    means and its default is documented on :class:`ConsumerProps`.

    The constructor runs in phases, each a method below: validate, derive, queues, rule and
    target, permissions, event source, idempotency, layers, alarms.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_bus: events.IEventBus,
        handler: lambda_.IFunction,
        **options: Unpack[ConsumerOptions],
    ) -> None:
        super().__init__(scope, construct_id)
        self._name = construct_id
        self._path = self.node.path
        self._parent_scope = scope
        props = consumer_props(self._path, event_bus=event_bus, handler=handler, options=options)
        #: What the fan-out handed this consumer (a standalone consumer: only its own name).
        self._membership = props.fanout or FanoutMembership(name="")
        derived = self._validate(props)
        self.function = handler
        self._create_queues(props, derived)
        self._create_rule(props)
        self._grant_permissions(props)
        self._connect_event_source(props)
        self._wire_idempotency(props, derived)
        self._attach_layers(props)
        self._enable_tracing(props)
        self._declare_event_type(props)
        self._create_alarms(props)
        self._describe(props)

    # -- validate and derive ------------------------------------------------------------------

    def _validate(self, props: ConsumerProps) -> ConsumerDerived:
        """Check every argument (raising every problem at once), warn, and derive the values.

        The handler is then marked as this consumer's: a function serves one consumer.
        """
        problems = input_problems(self, self._path, props)
        if not problems:
            facts = consumer_facts(self._path, self._name, props)
            problems = consumer_problems(self, facts)
        if problems:
            raise EventFanoutConfigError(problems)
        for code, message in consumer_warnings(facts):
            Annotations.of(self).add_warning_v2(code, message)
        Construct(typing.cast(Construct, props.handler), BOUND_MARKER)
        return derive(facts)

    # -- queues -------------------------------------------------------------------------------

    def _create_queues(self, props: ConsumerProps, derived: ConsumerDerived) -> None:
        """The key (when KMS is asked without one), the DLQ, then the queue redriving into it."""
        #: The customer-managed key of the queues, or None for SQS-managed SSE.
        self.encryption_key: kms.IKey | None = props.encryption_key
        if props.encryption == sqs.QueueEncryption.KMS and props.encryption_key is None:
            self.encryption_key = create_queue_key(
                self, "QueueKey", f"Encrypts the queues of {self._path}", props.removal_policy
            )
        queue_name = _queue_name(self, props.fifo)
        # What Stack.format_arn(service="sqs", resource=queue_name) returns, without the call.
        facts = stack_facts(self._parent_scope)
        queue_arn = f"arn:{facts.partition}:sqs:{facts.region}:{facts.account}:{queue_name}"
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            fifo=props.fifo or None,
            **queue_encryption_props(self.encryption_key),
            enforce_ssl=True,
            retention_period=props.dead_letter_retention_period,
            # Only this consumer's queue may redrive into it, and only it may be redriven to.
            # The source ARN is derived from its generated name: a Ref would be circular.
            redrive_allow_policy=sqs.RedriveAllowPolicy(
                redrive_permission=sqs.RedrivePermission.BY_QUEUE,
                source_queues=[sqs.Queue.from_queue_arn(self, "SourceQueueRef", queue_arn)],
            ),
            removal_policy=props.removal_policy,
        )
        nag.acknowledge(self.dead_letter_queue, nag.DEAD_LETTER_QUEUE)
        visibility = derived.visibility_timeout_seconds
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=queue_name,
            fifo=props.fifo or None,
            # The body holds the whole event, id included: identical bodies are duplicates.
            content_based_deduplication=True if props.fifo else None,
            **queue_encryption_props(self.encryption_key),
            enforce_ssl=True,
            retention_period=props.retention_period,
            visibility_timeout=(
                props.visibility_timeout if visibility is None else Duration.seconds(visibility)
            ),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue,
                max_receive_count=derived.redrive_max_receive_count,
            ),
            removal_policy=props.removal_policy,
        )
        self.target_dead_letter_queue = (
            props.target_dead_letter_queue or self._create_undeliverable_queue(props)
        )

    def _create_undeliverable_queue(self, props: ConsumerProps) -> sqs.Queue:
        """A standalone consumer keeps events EventBridge could not deliver in its own queue."""
        queue = sqs.Queue(
            self,
            "UndeliverableEvents",
            **queue_encryption_props(key_for_undeliverable_queue(self.encryption_key)),
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        nag.acknowledge(queue, nag.DEAD_LETTER_QUEUE)
        alarm = queue_depth_alarm(
            self,
            "UndeliverableEventsDepth",
            queue,
            description=f"{self._path}: EventBridge could not deliver events to the queue.",
        )
        add_actions([alarm], props.alarm_actions)
        return queue

    # -- rule and target ----------------------------------------------------------------------

    def _create_rule(self, props: ConsumerProps) -> None:
        """The rule and its SQS target; named when a key policy must name the rule."""
        #: The keys whose policy must admit this rule (those the fan-out's do not already).
        self._keys_admitting_rule = self._keys_to_admit_rule()
        rule_name = props.rule_name
        if rule_name is None and self._keys_admitting_rule:
            rule_name = Names.unique_resource_name(self, max_length=64, separator="-")
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=rule_name,
            event_bus=props.event_bus,
            event_pattern=props.event_pattern,
            description=f"Fan-out consumer {self._path}",
            targets=[
                ConsumerQueueTarget(
                    self.queue,
                    queue_arn=self.queue.queue_arn,
                    dead_letter_queue_arn=self.target_dead_letter_queue.queue_arn,
                    retry_attempts=props.retry_attempts,
                    max_event_age_seconds=_seconds_or_token(props.max_event_age),
                    message_group_id=props.message_group_id,
                )
            ],
        )
        # A key policy cannot name the rule by reference (the key, the queue and the rule would
        # form a cycle): a named rule's ARN is written out.
        self._rule_source_arn = (
            self.rule.rule_arn
            if rule_name is None
            else rule_arn(self._parent_scope, props.event_bus, rule_name)
        )

    def _keys_to_admit_rule(self) -> tuple[kms.IKey, ...]:
        """The queues' keys whose policies the fan-out's statements do not already cover."""
        membership = self._membership
        target_dlq = self.target_dead_letter_queue
        keys = (
            None if membership.admits(self.encryption_key) else self.encryption_key,
            None if membership.admits(target_dlq) else target_dlq.encryption_master_key,
        )
        return tuple(key for key in dict.fromkeys(keys) if key is not None)

    # -- permissions --------------------------------------------------------------------------

    def _grant_permissions(self, props: ConsumerProps) -> None:
        """Only this rule may send to the queue; EventBridge may use the keys for it only.

        The undeliverable-events queue gets a statement for this rule too, unless its policy
        admits the whole fan-out.
        """
        source_arn = self._rule_source_arn
        principal = iam.ServicePrincipal("events.amazonaws.com")
        allow_rules_to_send(self.queue, source_arn, principal=principal)
        if not self._membership.admits(self.target_dead_letter_queue):
            allow_rules_to_send(self.target_dead_letter_queue, source_arn, principal=principal)
        for key in self._keys_admitting_rule:
            allow_rule_to_use_key(key, self.rule, source_arn)
            warn_if_key_cannot_admit_events(self, key, source_arn)

    # -- event source -------------------------------------------------------------------------

    def _connect_event_source(self, props: ConsumerProps) -> None:
        """The function drains the queue, reporting failed records one by one."""
        self.event_source = event_sources.SqsEventSource(
            self.queue,
            batch_size=props.batch_size,
            max_batching_window=props.max_batching_window,
            max_concurrency=props.max_concurrency,
            report_batch_item_failures=True,
        )
        props.handler.add_event_source(self.event_source)
        for child in props.handler.node.children:
            if isinstance(child, lambda_.EventSourceMapping):
                nag.acknowledge(child, nag.EVENT_SOURCE_MAPPING)

    # -- idempotency --------------------------------------------------------------------------

    def _wire_idempotency(self, props: ConsumerProps, derived: ConsumerDerived) -> None:
        """The table (own or shared), its grants, and the environment the runtime reads."""
        #: The ``service`` dimension of the runtime's metrics: unique in the account.
        self.metrics_service = self._membership.name or Names.unique_resource_name(
            self, separator="-"
        )
        self.idempotency_table: dynamodb.ITable | None = None
        idempotency = derived.idempotency
        if idempotency is None:
            return
        table, table_key = self._idempotency_table(props, idempotency)
        self.idempotency_table = table
        grant_idempotency_access(props.handler, table, table_key)
        expiry = derived.idempotency_expiry_seconds
        variables = {
            constants.ENV_CONSUMER_NAME: self._name,
            constants.ENV_METRICS_SERVICE: self.metrics_service,
            constants.ENV_IDEMPOTENCY_TABLE_NAME: table.table_name,
            constants.ENV_IDEMPOTENCY_KEY_PATH: idempotency.key_path,
            constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS: (
                _token_seconds(idempotency.expires_after or props.dead_letter_retention_period)
                if expiry is None
                else str(expiry)
            ),
            constants.ENV_POWERTOOLS_SERVICE_NAME: self._name,
            constants.ENV_POWERTOOLS_METRICS_NAMESPACE: constants.DEFAULT_METRICS_NAMESPACE,
        }
        # Written only when set: the runtime defaults the prefix to the consumer name.
        if idempotency.key_prefix:
            variables[constants.ENV_IDEMPOTENCY_KEY_PREFIX] = idempotency.key_prefix
        if idempotency.payload_validation_path:
            variables[constants.ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH] = (
                idempotency.payload_validation_path
            )
        if props.fifo:
            # The runtime moves a failing FIFO record to the DLQ itself on this receive (SQS's
            # redrive allows a few more, for crashed invocations): otherwise the healthy records
            # of its group, held back behind it, reach their own last receive with it and are
            # dead-lettered too.
            variables[constants.ENV_DEAD_LETTER_QUEUE_URL] = self.dead_letter_queue.queue_url
            variables[constants.ENV_MAX_RECEIVE_COUNT] = _text_or_token(props.max_receive_count)
        self._set_environment(props.handler, variables)
        if props.fifo:
            allow_function_to_dead_letter(
                typing.cast(lambda_.Function, props.handler),
                self.dead_letter_queue,
                self.encryption_key,
            )

    def _idempotency_table(
        self, props: ConsumerProps, idempotency: Idempotency
    ) -> tuple[dynamodb.ITable, kms.IKey | None]:
        """The shared table (claiming this consumer's key prefix in it), or a table of its own."""
        if idempotency.existing_table is not None:
            table = idempotency.existing_table
            claim_key_prefix(self, table, idempotency.key_prefix or self._name)
            return table, table.encryption_key
        own = IdempotencyTable(
            self,
            "IdempotencyTable",
            removal_policy=props.removal_policy or RemovalPolicy.RETAIN,
            # A consumer with a customer-managed key keeps everything at rest under it.
            encryption_key=self.encryption_key,
        )
        return own.table, self.encryption_key

    def _set_environment(self, handler: lambda_.IFunction, variables: dict[str, str]) -> None:
        """Through the function's public API: a later ``add_environment`` of a name wins.

        Lambda refuses a function whose environment passes 4 KB: fail at synth instead.
        """
        resolved = Stack.of(self).resolve(variables)
        size = sum(
            len(name) + (len(value) if isinstance(value, str) else 256)  # a Ref: a name, <=256
            for name, value in resolved.items()
        )
        if size > LAMBDA_ENVIRONMENT_LIMIT:
            v = Validator(self)
            v.require(
                False,
                "idempotency",
                f"{size} bytes of environment variables",
                f"must fit in Lambda's {LAMBDA_ENVIRONMENT_LIMIT}-byte environment with the "
                "function's own variables",
                "shorten key_path / payload_validation_path / key_prefix (a JMESPath of a few "
                "fields is enough)",
            )
            v.raise_if_any()
        function = typing.cast(lambda_.Function, handler)  # validated: a Function of this app
        for name, value in variables.items():
            function.add_environment(name, value)

    # -- event type ---------------------------------------------------------------------------

    def _declare_event_type(self, props: ConsumerProps) -> None:
        """Tell the runtime which event type and versions to accept (a function of this app).

        An imported function keeps its own environment: its handler then accepts its event
        type's own version only.
        """
        #: The event type consumed (``event_type=``), and the versions of it accepted.
        self.event_type = props.event_type
        self.event_versions: tuple[int, ...] = tuple(props.event_versions or ())
        if props.event_type is None or not isinstance(props.handler, lambda_.Function):
            return
        self._set_environment(
            props.handler,
            {
                constants.ENV_EVENT_TYPE: props.event_type.name,
                constants.ENV_EVENT_VERSIONS: ",".join(str(v) for v in self.event_versions),
            },
        )

    # -- layers -------------------------------------------------------------------------------

    def _attach_layers(self, props: ConsumerProps) -> None:
        """The Powertools layer and the ``event_fanout.runtime`` layer, for a Python handler."""
        if not props.attach_runtime_layers:
            return
        function = typing.cast(lambda_.Function, props.handler)
        facts = runtime_facts(function.runtime)
        if facts.family != lambda_.RuntimeFamily.PYTHON:
            Annotations.of(self).add_info(
                f"{facts.name} is not a Python runtime: no runtime layers attached."
            )
            return
        layers = RuntimeLayer.of(self._parent_scope)
        powertools = layers.powertools(
            powertools_layer_arn(self, function, props.powertools_layer_version)
        )
        function.add_layers(powertools, layers.layer_version)

    # -- alarms -------------------------------------------------------------------------------

    def _enable_tracing(self, props: ConsumerProps) -> None:
        """Active tracing, X-Ray write access in a policy of its own, and the runtime told."""
        if not props.tracing:
            return
        function = typing.cast(lambda_.Function, props.handler)
        cfn = typing.cast(lambda_.CfnFunction, function.node.default_child)
        cfn.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        # A policy of its own, so the wildcard X-Ray needs is acknowledged on it alone.
        policy = iam.Policy(
            self,
            "TracingPolicy",
            statements=[
                iam.PolicyStatement(
                    actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    resources=["*"],
                )
            ],
        )
        if function.role is not None:
            function.role.attach_inline_policy(policy)
        nag.acknowledge(policy, nag.TRACING_POLICY)
        function.add_environment(constants.ENV_TRACING, "true")

    def _create_alarms(self, props: ConsumerProps) -> None:
        self.alarms = ConsumerAlarms(
            self,
            "Alarms",
            consumer_name=self._name,
            queue=self.queue,
            dead_letter_queue=self.dead_letter_queue,
            function=props.handler,
            rule=self.rule,
            event_bus=props.event_bus,
            max_message_age=props.max_message_age,
            alarm_actions=props.alarm_actions,
            metrics_service=self.metrics_service,
            options=props.alarms,
        )

    # -- manifest -----------------------------------------------------------------------------

    def _describe(self, props: ConsumerProps) -> None:
        """The consumer's entry for the operating tools (``constructs/manifest.py``)."""
        table = self.idempotency_table
        manifest.describe(
            self.queue,
            "consumer",
            {
                "name": self._name,
                "path": self._path,
                "fanout": self._membership.name or None,
                "metricsService": self.metrics_service,
                "fifo": bool(props.fifo),
                "queue": manifest.reference(self.queue, self.queue),
                "deadLetterQueue": manifest.reference(self.queue, self.dead_letter_queue),
                "rule": manifest.reference(self.queue, self.rule),
                "bus": manifest.reference(
                    self.queue, props.event_bus, props.event_bus.event_bus_name
                ),
                "function": manifest.reference(
                    self.queue, props.handler, props.handler.function_name
                ),
                "idempotencyTable": manifest.reference(
                    self.queue, table, None if table is None else table.table_name
                ),
                "alarms": {
                    attribute: manifest.reference(self.queue, alarm)
                    for attribute, alarm in self.alarms.resources.items()
                },
                "eventType": (
                    None
                    if props.event_type is None
                    else {**contract_entry(props.event_type), "accepts": list(self.event_versions)}
                ),
            },
        )


def _seconds_or_token(value: Duration) -> float:
    """``value.to_seconds()``: read once per Duration object, a number token passed through."""
    seconds = seconds_of(value)
    return value.to_seconds() if seconds is None else seconds


def _token_seconds(value: Duration) -> str:
    """A token Duration's seconds, as the string token CloudFormation resolves."""
    return Token.as_string(value.to_seconds())


def _text_or_token(count: int) -> str:
    return str(count) if isinstance(count, int) else Token.as_string(count)


def claim_key_prefix(consumer: Construct, table: dynamodb.ITable, prefix: str) -> None:
    """Record that ``consumer`` writes ``prefix`` into the shared ``table``; refuse a clash.

    Two consumers writing one table under one prefix would each skip the other's events as
    duplicates. The record lives on the table's construct, the one thing both consumers share.
    """
    registry = table.node.try_find_child(_KEY_PREFIXES_ID)
    if not isinstance(registry, _KeyPrefixes):
        registry = _KeyPrefixes(typing.cast(Construct, table), _KEY_PREFIXES_ID)
    path = consumer.node.path
    other = registry.writers.setdefault(prefix, path)
    if other != path:
        v = Validator(consumer)
        v.require(
            False,
            "idempotency.key_prefix",
            prefix,
            f"is already used in the shared table {table.node.path} by {other}: each "
            "consumer's records need a prefix of their own, or one consumer's events are "
            "skipped as the other's duplicates",
            "pass Idempotency(existing_table=..., key_prefix='<fan-out>.<consumer>') with a "
            "different prefix to one of them (changing a deployed consumer's prefix resets its "
            "deduplication once)",
        )
        v.raise_if_any()


_KEY_PREFIXES_ID = "EventFanoutKeyPrefixes"


class _KeyPrefixes(Construct):
    """The key prefixes written into one shared idempotency table, by consumer path."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.writers: dict[str, str] = {}


def _queue_name(scope: Construct, fifo: bool) -> str:
    """A deterministic name derived from the construct path (unique in the account/region).

    The DLQ's redrive-allow policy must name this queue's ARN, and the queue references the
    DLQ: a generated name lets the ARN be written without a circular Ref.
    """
    name = Names.unique_resource_name(scope, max_length=75 if fifo else 80, separator="-")
    return f"{name}.fifo" if fifo else name
