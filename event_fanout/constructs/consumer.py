"""One consumer of the fan-out: rule -> queue (+ DLQ) -> Lambda, idempotent and alarmed."""

from __future__ import annotations

import re
import typing
from collections.abc import Sequence

import jmespath
import jmespath.exceptions
from aws_cdk import (
    Annotations,
    Duration,
    Names,
    RemovalPolicy,
    Stack,
    Token,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from event_fanout.constructs import nag_acknowledgements as nag
from event_fanout.constructs.consumer_alarms import (
    ConsumerAlarms,
    add_actions,
    queue_depth_alarm,
)
from event_fanout.constructs.encryption import (
    check_encryption,
    create_queue_key,
    key_for_undeliverable_queue,
    queue_encryption_props,
)
from event_fanout.constructs.idempotency_table import IdempotencyTable
from event_fanout.constructs.input_checks import (
    CONSUMER_ARGUMENTS,
    MESSAGE_GROUP_ID,
    pattern_problems,
    type_problems,
    whole_seconds_problems,
)
from event_fanout.constructs.lifetimes import message_lifetime_seconds, visibility_timeout_seconds
from event_fanout.constructs.lookups import (
    child_path,
    events_principal,
    queue_arn_of,
    runtime_facts,
    seconds_duration,
    stack_facts,
)
from event_fanout.constructs.options import FanoutMembership, Idempotency
from event_fanout.constructs.permissions import (
    allow_function_to_dead_letter,
    allow_rule_to_use_key,
    allow_rules_to_send,
    grant_idempotency_access,
    rule_arn,
    warn_if_key_cannot_admit_events,
)
from event_fanout.constructs.powertools_layer import SUPPORTED_PYTHON
from event_fanout.constructs.queue_target import ConsumerQueueTarget
from event_fanout.constructs.runtime_layer import (
    POWERTOOLS_LAYER_VERSION,
    RuntimeLayer,
    powertools_layer_arn,
)
from event_fanout.constructs.validation import Validator, seconds_of
from event_fanout.errors import ConfigProblem, EventFanoutConfigError
from event_fanout.runtime import constants

#: The default idempotency options. Compared by identity: a non-Python handler gets a table only
#: when one is asked for (the runtime that uses it is Python's).
DEFAULT_IDEMPOTENCY = Idempotency()
#: Lambda's limit on a function's environment variables (names and values), in bytes.
LAMBDA_ENVIRONMENT_LIMIT = 4096
#: Lambda's timeout when a function does not set one.
LAMBDA_DEFAULT_TIMEOUT = Duration.seconds(3)
MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 3600
MIN_RETENTION_SECONDS = 60
MAX_RETENTION_SECONDS = 14 * 24 * 3600
MAX_BATCHING_WINDOW_SECONDS = 300
MAX_EVENT_AGE_RANGE = (60, 86_400)
RETRY_ATTEMPTS_RANGE = (0, 185)

#: Functions already bound to a consumer. jsii hands back the same Python object for a construct,
#: Construct id of the marker a consumer leaves on its function: a function serves one consumer
#: (its environment and the visibility timeout are per consumer). On the function itself, so
#: no module-level state links consumers.
_BOUND_MARKER = "EventFanoutConsumer"
#: Construct ids CDK treats specially (dropped from logical ids and paths).
_RESERVED_IDS = frozenset({"Default", "Resource"})


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

    Parameters
    ----------
    event_bus:
        The bus the rule listens on.
    handler:
        The consumer function. Its ``timeout`` drives the queue's visibility timeout; it receives
        the idempotency environment and, for Python runtimes, the runtime layers.
    event_pattern:
        Which events this consumer receives. Must name at least one field.
    batch_size:
        Records per invocation, 1-10,000 (FIFO: 1-10). Above 10 needs ``max_batching_window``.
    max_batching_window:
        How long Lambda gathers a batch (up to 5 minutes). Default: none.
    max_concurrency:
        Cap on concurrent invocations from this queue (2-1000). Default: no cap.
    max_receive_count:
        Deliveries before a message moves to the DLQ (1-1000). Default 5.
    visibility_timeout:
        Override of the derived value; must be at least function timeout + batching window.
    retention_period:
        Source queue retention. Default 4 days (SQS's default).
    dead_letter_retention_period:
        DLQ retention, must exceed ``retention_period``. Default 14 days (SQS's maximum).
    fifo, message_group_id:
        FIFO queue and DLQ; EventBridge sends every event with this fixed message group id
        (a rule's SQS target cannot derive it from the event), so FIFO means strict order.
    idempotency:
        Options of the idempotency table; ``None`` disables it (no table, no environment).
    max_message_age:
        Age of the oldest queued message that raises the lag alarm. Default 5 minutes.
    alarm_actions:
        Where alarms notify (ALARM and OK). Default: nowhere.
    target_dead_letter_queue:
        Where EventBridge sends events it could not deliver. ``EventFanout`` passes its shared
        queue; a standalone consumer creates its own.
    retry_attempts, max_event_age:
        EventBridge's delivery retry policy (0-185 attempts, 1 minute-24 hours). Defaults are
        EventBridge's maximums: a throttled queue should delay events, not drop them.
    attach_runtime_layers, powertools_layer_version:
        Attach the Powertools layer (pinned version) and the ``event_fanout.runtime`` layer to a
        Python handler. Default on.
    removal_policy:
        Applied to the queues and the idempotency table. Default: retain the table, destroy
        the queues (CDK's defaults).
    rule_name:
        Physical name of the rule. Default: generated, or derived from the construct path when
        a key policy must name the rule. ``EventFanout`` names its consumers' rules on a bus it
        did not create, so the undeliverable-events queue admits only its own rules.
    fanout:
        What the fan-out this consumer belongs to hands it (``EventFanout`` passes it): its name,
        the ``service`` dimension of the runtime's metrics, and the queues and keys whose
        policies already admit its rules. Default: a standalone consumer (its own unique name).

    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_bus: events.IEventBus,
        handler: lambda_.IFunction,
        event_pattern: events.EventPattern,
        batch_size: int = 10,
        max_batching_window: Duration | None = None,
        max_concurrency: int | None = None,
        max_receive_count: int = 5,
        visibility_timeout: Duration | None = None,
        retention_period: Duration = Duration.days(4),
        dead_letter_retention_period: Duration = Duration.days(14),
        fifo: bool = False,
        message_group_id: str | None = None,
        idempotency: Idempotency | None = DEFAULT_IDEMPOTENCY,
        max_message_age: Duration = Duration.minutes(5),
        alarm_actions: Sequence[cloudwatch.IAlarmAction] = (),
        target_dead_letter_queue: sqs.IQueue | None = None,
        retry_attempts: int = 185,
        max_event_age: Duration = Duration.hours(24),
        attach_runtime_layers: bool = True,
        powertools_layer_version: int = POWERTOOLS_LAYER_VERSION,
        removal_policy: RemovalPolicy | None = None,
        encryption: sqs.QueueEncryption | None = None,
        encryption_key: kms.IKey | None = None,
        rule_name: str | None = None,
        fanout: FanoutMembership | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Known without asking the jsii kernel: saves a round trip per use.
        self._name = construct_id
        self._path = child_path(scope, construct_id)
        check_inputs(
            self,
            self._path,
            {
                "batch_size": batch_size,
                "max_batching_window": max_batching_window,
                "max_concurrency": max_concurrency,
                "max_receive_count": max_receive_count,
                "visibility_timeout": visibility_timeout,
                "retention_period": retention_period,
                "dead_letter_retention_period": dead_letter_retention_period,
                "fifo": fifo,
                "max_message_age": max_message_age,
                "alarm_actions": alarm_actions,
                "retry_attempts": retry_attempts,
                "max_event_age": max_event_age,
                "attach_runtime_layers": attach_runtime_layers,
                "powertools_layer_version": powertools_layer_version,
            },
            event_pattern=event_pattern,
            idempotency=idempotency,
        )
        self._parent_scope = scope
        function_timeout = _function_timeout(handler)
        derived_visibility = self._validate(
            handler=handler,
            event_pattern=event_pattern,
            function_timeout=function_timeout,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            max_concurrency=max_concurrency,
            max_receive_count=max_receive_count,
            visibility_timeout=visibility_timeout,
            retention_period=retention_period,
            dead_letter_retention_period=dead_letter_retention_period,
            fifo=fifo,
            message_group_id=message_group_id,
            idempotency=idempotency,
            max_message_age=max_message_age,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            encryption=encryption,
            encryption_key=encryption_key,
            powertools_layer_version=powertools_layer_version,
            attach_runtime_layers=attach_runtime_layers,
            event_bus=event_bus,
        )
        self.function = handler
        idempotency = _idempotency_for(self, handler, idempotency)
        #: The customer-managed key of the queues, or None for SQS-managed SSE.
        self.encryption_key: kms.IKey | None = encryption_key
        if encryption == sqs.QueueEncryption.KMS and encryption_key is None:
            self.encryption_key = create_queue_key(
                self, "QueueKey", f"Encrypts the queues of {self._path}", removal_policy
            )

        queue_name = _queue_name(self, fifo)
        # What Stack.format_arn(service="sqs", resource=queue_name) returns, without the call.
        facts = stack_facts(scope)  # Stack.of(self), cached for the siblings sharing `scope`
        queue_arn = f"arn:{facts.partition}:sqs:{facts.region}:{facts.account}:{queue_name}"
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            fifo=fifo or None,
            **queue_encryption_props(self.encryption_key),
            enforce_ssl=True,
            retention_period=dead_letter_retention_period,
            # Only this consumer's queue may redrive into it, and only it may be redriven to.
            # The source ARN is derived from its generated name: a Ref would be circular.
            redrive_allow_policy=sqs.RedriveAllowPolicy(
                redrive_permission=sqs.RedrivePermission.BY_QUEUE,
                source_queues=[sqs.Queue.from_queue_arn(self, "SourceQueueRef", queue_arn)],
            ),
            removal_policy=removal_policy,
        )
        nag.acknowledge(self.dead_letter_queue, nag.DEAD_LETTER_QUEUE)
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=queue_name,
            fifo=fifo or None,
            # The body holds the whole event, id included: identical bodies are duplicates.
            content_based_deduplication=True if fifo else None,
            **queue_encryption_props(self.encryption_key),
            enforce_ssl=True,
            retention_period=retention_period,
            visibility_timeout=visibility_timeout or derived_visibility,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=max_receive_count
            ),
            removal_policy=removal_policy,
        )

        self.target_dead_letter_queue = target_dead_letter_queue or self._own_undeliverable_queue(
            alarm_actions
        )
        # A key policy must name the rule: give it a known name so its ARN needs no reference.
        target_dlq = self.target_dead_letter_queue
        membership = fanout or FanoutMembership(name="")
        target_dlq_key = None if membership.admits(target_dlq) else target_dlq.encryption_master_key
        own_key = None if membership.admits(self.encryption_key) else self.encryption_key
        key_rule_arn: str | None = None
        if rule_name is None and (own_key is not None or target_dlq_key is not None):
            rule_name = Names.unique_resource_name(self, max_length=64, separator="-")
        if rule_name is not None:
            key_rule_arn = rule_arn(scope, event_bus, rule_name)
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=rule_name,
            event_bus=event_bus,
            event_pattern=event_pattern,
            description=f"Fan-out consumer {self._path}",
            targets=[
                ConsumerQueueTarget(
                    self.queue,
                    queue_arn=queue_arn_of(self.queue),
                    dead_letter_queue_arn=queue_arn_of(target_dlq),
                    retry_attempts=retry_attempts,
                    max_event_age_seconds=_seconds_or_token(max_event_age),
                    message_group_id=message_group_id if fifo else None,
                )
            ],
        )
        # Only this rule may send to the queue (and to the DLQ, unless it admits the whole bus);
        # EventBridge encrypts with the queue's key and, for undeliverable events, the DLQ's key.
        source_arn = key_rule_arn or self.rule.rule_arn
        principal = events_principal(scope)
        allow_rules_to_send(self.queue, source_arn, principal=principal)
        if not membership.admits(target_dlq):
            allow_rules_to_send(target_dlq, source_arn, principal=principal)
        allow_rule_to_use_key(own_key, self.rule, source_arn)
        if target_dlq_key is not own_key:
            allow_rule_to_use_key(target_dlq_key, self.rule, source_arn)
        for key in dict.fromkeys((own_key, target_dlq_key)):
            if key is not None:
                warn_if_key_cannot_admit_events(self, key, source_arn)

        self.event_source = event_sources.SqsEventSource(
            self.queue,
            batch_size=batch_size,
            max_batching_window=max_batching_window,
            max_concurrency=max_concurrency,
            report_batch_item_failures=True,
        )
        handler.add_event_source(self.event_source)
        handler_node = handler.node  # one read: each `.node` is a round trip
        for child in handler_node.children:
            if isinstance(child, lambda_.EventSourceMapping):
                nag.acknowledge(child, nag.EVENT_SOURCE_MAPPING)

        #: The ``service`` dimension of the runtime's metrics: unique in the account.
        self.metrics_service = membership.name or Names.unique_resource_name(self, separator="-")
        self.idempotency_table = self._wire_idempotency(
            handler,
            idempotency,
            removal_policy,
            expires_after_seconds=_idempotency_expiry(
                self,
                idempotency,
                fifo=fifo,
                retention_period=retention_period,
                dead_letter_retention_period=dead_letter_retention_period,
            ),
        )
        if fifo and idempotency is not None:
            self._let_runtime_dead_letter(handler, max_receive_count)
        if attach_runtime_layers:
            self._attach_layers(handler, powertools_layer_version)

        self.alarms = ConsumerAlarms(
            self,
            "Alarms",
            consumer_name=construct_id,
            queue=self.queue,
            dead_letter_queue=self.dead_letter_queue,
            function=handler,
            rule=self.rule,
            event_bus=event_bus,
            max_message_age=max_message_age,
            alarm_actions=alarm_actions,
            metrics_service=self.metrics_service,
        )

    # -- validation ---------------------------------------------------------------------------

    def _validate(
        self,
        *,
        handler: lambda_.IFunction,
        event_pattern: events.EventPattern,
        function_timeout: Duration,
        batch_size: int,
        max_batching_window: Duration | None,
        max_concurrency: int | None,
        max_receive_count: int,
        visibility_timeout: Duration | None,
        retention_period: Duration,
        dead_letter_retention_period: Duration,
        fifo: bool,
        message_group_id: str | None,
        idempotency: Idempotency | None,
        max_message_age: Duration,
        retry_attempts: int,
        max_event_age: Duration,
        encryption: sqs.QueueEncryption | None,
        encryption_key: kms.IKey | None,
        powertools_layer_version: int,
        attach_runtime_layers: bool,
        event_bus: events.IEventBus,
    ) -> Duration:
        """Check every argument against AWS's limits; return the derived visibility timeout."""
        v = Validator(self)
        v.require(
            re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,63}", self._name) is not None
            and self._name not in _RESERVED_IDS,
            "construct_id",
            self._name,
            "must be 1-64 letters and digits starting with a letter, and not "
            + " or ".join(sorted(_RESERVED_IDS)),
            "use a PascalCase name such as 'ReportingSync': it names the queues, the "
            "idempotency key prefix and the metrics",
        )
        v.require(
            isinstance(handler, lambda_.Function),
            "handler",
            handler,
            "must be an aws_lambda.Function defined in this app",
            "the construct derives the queue's visibility timeout from the function's timeout "
            "and sets its environment; an imported function offers neither",
        )
        if handler.node.try_find_child(_BOUND_MARKER) is not None:
            v.require(
                False,
                "handler",
                handler.node.path,
                "is already the handler of another fan-out consumer",
                "give each consumer its own function: the idempotency environment and the "
                "visibility timeout are per consumer",
            )
        v.require(
            _pattern_has_fields(event_pattern),
            "event_pattern",
            event_pattern,
            "must match on at least one field (source, detail_type, detail, ...)",
            'e.g. EventPattern(source=["ads.campaigns"])',
        )
        v.int_range(
            "batch_size",
            batch_size,
            1,
            10 if fifo else 10_000,
            "FIFO event sources take at most 10 records" if fifo else "",
        )
        window = seconds_of(max_batching_window) or 0
        v.seconds_range("max_batching_window", max_batching_window, 0, MAX_BATCHING_WINDOW_SECONDS)
        v.require(
            fifo or batch_size <= 10 or window >= 1,
            "batch_size",
            batch_size,
            "above 10 requires max_batching_window of at least 1 second",
            "pass max_batching_window=Duration.seconds(1) or more, or batch_size<=10",
        )
        v.require(
            not (fifo and max_batching_window is not None),
            "max_batching_window",
            max_batching_window,
            "is not supported by Lambda for FIFO queues",
            "drop max_batching_window for a FIFO consumer",
        )
        v.int_range("max_concurrency", max_concurrency, 2, 1000, "or None for no cap")
        v.int_range("max_receive_count", max_receive_count, 1, 1000)
        v.int_range(
            "powertools_layer_version",
            powertools_layer_version,
            1,
            10_000,
            "Powertools layer versions start at 1",
        )
        check_bus_is_local(v, self, event_bus)
        check_runtime(v, handler, attach_runtime_layers)
        check_encryption(v, encryption, encryption_key)
        v.int_range("retry_attempts", retry_attempts, *RETRY_ATTEMPTS_RANGE)
        v.seconds_range(
            "max_event_age",
            max_event_age,
            *MAX_EVENT_AGE_RANGE,
            "use Duration.minutes(1) to Duration.hours(24), EventBridge's retry window",
        )
        v.seconds_range(
            "retention_period", retention_period, MIN_RETENTION_SECONDS, MAX_RETENTION_SECONDS
        )
        v.seconds_range(
            "dead_letter_retention_period",
            dead_letter_retention_period,
            MIN_RETENTION_SECONDS,
            MAX_RETENTION_SECONDS,
        )
        source_retention = seconds_of(retention_period)
        dlq_retention = seconds_of(dead_letter_retention_period)
        # Checked before building the message: to_human_string() is a jsii call.
        if (
            source_retention is not None
            and dlq_retention is not None
            and dlq_retention <= source_retention
        ):
            v.require(
                False,
                "dead_letter_retention_period",
                dead_letter_retention_period,
                f"must be longer than retention_period ({retention_period.to_human_string()}): "
                "SQS keeps a message's original enqueue time when it moves it to the DLQ",
                "raise dead_letter_retention_period (default 14 days) or lower retention_period",
            )
        age = seconds_of(max_message_age)
        v.require(
            age is None or age >= 60,
            "max_message_age",
            max_message_age,
            "must be at least 1 minute (SQS publishes the metric once a minute)",
        )
        v.require(
            age is None or source_retention is None or age < source_retention,
            "max_message_age",
            max_message_age,
            "must be shorter than retention_period: no message lives that long in the queue, so "
            "the lag alarm could never fire",
            "lower max_message_age (the age at which lag should page you), or raise "
            "retention_period",
        )
        if fifo:
            v.require(
                bool(message_group_id),
                "message_group_id",
                message_group_id,
                "is required when fifo=True",
                'pass message_group_id="<group>": EventBridge sends every event to a FIFO '
                "queue with one fixed group id",
            )
            literal_group = message_group_id is not None and not Token.is_unresolved(
                message_group_id
            )
            v.require(
                not (literal_group and (message_group_id or "").startswith("$")),
                "message_group_id",
                message_group_id,
                "must be a fixed string: an EventBridge rule's SQS target cannot read it from "
                "the event (aws-cdk#32965)",
                "use a fixed group id, or EventBridge Pipes for per-key ordering",
            )
            v.require(
                not literal_group or MESSAGE_GROUP_ID.fullmatch(message_group_id or "") is not None,
                "message_group_id",
                message_group_id,
                "must be 1-128 letters, digits or punctuation (what SQS accepts in a group id)",
                "use a short name such as 'orders'",
            )
        else:
            v.require(
                message_group_id is None,
                "message_group_id",
                message_group_id,
                "only applies to FIFO consumers",
                "pass fifo=True, or drop message_group_id",
            )
        if idempotency is not None:
            check_idempotency(v, idempotency)
            v.require(
                not (
                    fifo
                    and idempotency.expires_after is None
                    and (source_retention is None or dlq_retention is None)
                ),
                "idempotency.expires_after",
                idempotency.expires_after,
                "must be given when a FIFO consumer's retention_period or "
                "dead_letter_retention_period is a token: its default is their sum, which "
                "CloudFormation cannot compute",
                "pass Idempotency(expires_after=Duration.days(...)) of at least the two "
                "retentions added up",
            )
        v.require(
            not (visibility_timeout is None and seconds_of(function_timeout) is None),
            "handler.timeout",
            function_timeout,
            "is a token, so the visibility timeout (6 x timeout + batching window) cannot be "
            "derived at synth",
            "pass visibility_timeout= explicitly (at least 6 x the largest timeout the token "
            "can take + the batching window), or give the function a literal timeout",
        )

        derived = _derived_visibility(function_timeout, window)
        derived_seconds = seconds_of(derived)
        timeout_seconds = seconds_of(function_timeout)
        if visibility_timeout is None and derived_seconds is not None:
            v.require(
                derived_seconds <= MAX_VISIBILITY_TIMEOUT_SECONDS,
                "handler.timeout",
                function_timeout,
                f"makes the visibility timeout 6 x timeout + batching window = "
                f"{derived_seconds} s, above SQS's 12-hour limit",
                "lower the function timeout or max_batching_window",
            )
        explicit = seconds_of(visibility_timeout)
        if explicit is not None and timeout_seconds is not None:
            v.require(
                explicit >= timeout_seconds + window,
                "visibility_timeout",
                visibility_timeout,
                f"must be at least the function timeout + batching window "
                f"({timeout_seconds + window} s), or a batch still running is handed out again",
                "omit visibility_timeout to use 6 x timeout + batching window",
            )
            v.require(
                explicit <= MAX_VISIBILITY_TIMEOUT_SECONDS,
                "visibility_timeout",
                visibility_timeout,
                "must be at most 12 hours",
            )
            if explicit < visibility_timeout_seconds(timeout_seconds, window):
                Annotations.of(self).add_warning_v2(
                    "event-fanout:visibility-timeout-below-guidance",
                    f"visibility_timeout {explicit} s is below AWS's guidance of 6 x function "
                    f"timeout + batching window ({derived_seconds} s): throttled retries may "
                    "redeliver a batch that is still running.",
                )
        v.raise_if_any()
        Construct(typing.cast(Construct, handler), _BOUND_MARKER)  # it belongs to this consumer
        return derived

    # -- wiring -------------------------------------------------------------------------------

    def _own_undeliverable_queue(
        self, alarm_actions: Sequence[cloudwatch.IAlarmAction]
    ) -> sqs.Queue:
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
        add_actions([alarm], alarm_actions)
        return queue

    def _wire_idempotency(
        self,
        handler: lambda_.IFunction,
        idempotency: Idempotency | None,
        removal_policy: RemovalPolicy | None,
        *,
        expires_after_seconds: str,
    ) -> dynamodb.ITable | None:
        if idempotency is None:
            return None
        table: dynamodb.ITable
        table_key: kms.IKey | None
        if idempotency.existing_table is not None:
            table = idempotency.existing_table
            table_key = table.encryption_key
            claim_key_prefix(self, table, idempotency.key_prefix or self._name)
        else:
            table = IdempotencyTable(
                self,
                "IdempotencyTable",
                removal_policy=removal_policy or RemovalPolicy.RETAIN,
                # A consumer with a customer-managed key keeps everything at rest under it.
                encryption_key=self.encryption_key,
            ).table
            table_key = self.encryption_key  # what the table was given: no need to read it back
        grant_idempotency_access(handler, table, table_key)
        function = handler
        assert isinstance(function, lambda_.Function)  # checked in _validate
        # What the runtime reads, through the function's public API (a later add_environment
        # of the same name wins, as users expect). IDEMPOTENCY_KEY_PREFIX is only written when
        # set: the runtime defaults it to the consumer name.
        variables = {
            constants.ENV_CONSUMER_NAME: self._name,
            constants.ENV_METRICS_SERVICE: self.metrics_service,
            constants.ENV_IDEMPOTENCY_TABLE_NAME: table.table_name,
            constants.ENV_IDEMPOTENCY_KEY_PATH: idempotency.key_path,
            constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS: expires_after_seconds,
            constants.ENV_POWERTOOLS_SERVICE_NAME: self._name,
            constants.ENV_POWERTOOLS_METRICS_NAMESPACE: constants.DEFAULT_METRICS_NAMESPACE,
        }
        if idempotency.key_prefix:
            variables[constants.ENV_IDEMPOTENCY_KEY_PREFIX] = idempotency.key_prefix
        if idempotency.payload_validation_path:
            variables[constants.ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH] = (
                idempotency.payload_validation_path
            )
        _check_environment_size(self, variables)
        for name, value in variables.items():
            function.add_environment(name, value)
        return table

    def _let_runtime_dead_letter(self, handler: lambda_.IFunction, max_receive_count: int) -> None:
        """Let the runtime move a FIFO record to the DLQ itself on its last allowed receive.

        Otherwise the healthy records of its message group, held back behind it on every
        receive, reach their own last receive with it and are dead-lettered too. The function
        may send to its own DLQ (and use the DLQ's key for that), nothing else.
        """
        function = handler
        assert isinstance(function, lambda_.Function)  # checked in _validate
        function.add_environment(
            constants.ENV_DEAD_LETTER_QUEUE_URL, self.dead_letter_queue.queue_url
        )
        function.add_environment(
            constants.ENV_MAX_RECEIVE_COUNT,
            Token.as_string(max_receive_count)
            if _is_unresolved(max_receive_count)
            else str(max_receive_count),
        )
        allow_function_to_dead_letter(function, self.dead_letter_queue, self.encryption_key)

    def _attach_layers(self, handler: lambda_.IFunction, powertools_layer_version: int) -> None:
        function = handler
        assert isinstance(function, lambda_.Function)
        runtime = function.runtime
        facts = runtime_facts(runtime)
        if facts.family != lambda_.RuntimeFamily.PYTHON:
            Annotations.of(self).add_info(
                f"{facts.name} is not a Python runtime: no runtime layers attached."
            )
            return
        layers = RuntimeLayer.of(self._parent_scope)
        powertools = layers.powertools(
            powertools_layer_arn(
                self,
                function,
                powertools_layer_version,
                runtime=runtime,
                region=stack_facts(self._parent_scope).region,
            )
        )
        function.add_layers(powertools, layers.layer_version)


def _function_timeout(handler: lambda_.IFunction) -> Duration:
    timeout = handler.timeout if isinstance(handler, lambda_.Function) else None
    return timeout or LAMBDA_DEFAULT_TIMEOUT


def _derived_visibility(function_timeout: Duration, window_seconds: int) -> Duration:
    # A token timeout is rejected in validation unless visibility_timeout is explicit (then
    # this value is unused): 900 s is only a placeholder, never written to a template.
    seconds = seconds_of(function_timeout)
    return seconds_duration(
        visibility_timeout_seconds(900 if seconds is None else seconds, window_seconds)
    )


def _is_unresolved(value: object) -> bool:
    return not isinstance(value, int) and bool(Token.is_unresolved(value))


#: Durations AWS takes in whole seconds.
WHOLE_SECOND_ARGUMENTS = (
    "max_batching_window",
    "visibility_timeout",
    "retention_period",
    "dead_letter_retention_period",
    "max_message_age",
    "max_event_age",
)


def check_inputs(
    scope: Construct,
    path: str,
    values: dict[str, object],
    *,
    event_pattern: object,
    idempotency: object,
) -> None:
    """Types, units and the event pattern, before anything reads them: raise every problem."""
    problems = type_problems(path, values, CONSUMER_ARGUMENTS)
    if not isinstance(idempotency, Idempotency | None):
        problems.append(
            ConfigProblem(
                path,
                "idempotency",
                idempotency,
                f"must be an Idempotency(...) or None, not a {type(idempotency).__name__}",
                'e.g. idempotency=Idempotency(key_path="detail.orderId")',
            )
        )
    else:
        values = {
            **values,
            "idempotency.expires_after": getattr(idempotency, "expires_after", None),
        }
    problems += whole_seconds_problems(
        path,
        values,
        [p for p in (*WHOLE_SECOND_ARGUMENTS, "idempotency.expires_after") if p in values],
    )
    problems += pattern_problems(scope, path, event_pattern)
    if problems:
        raise EventFanoutConfigError(problems)


def check_bus_is_local(v: Validator, scope: Construct, event_bus: events.IEventBus) -> None:
    """A rule can only be created on a bus of its own account and region."""
    stack = Stack.of(scope)
    bus_env = event_bus.env
    for what, theirs, ours in (
        ("account", bus_env.account, stack.account),
        ("region", bus_env.region, stack.region),
    ):
        known = not Token.is_unresolved(theirs) and not Token.is_unresolved(ours)
        v.require(
            not known or theirs == ours,
            "event_bus",
            event_bus,
            f"is in {what} {theirs}, but this stack deploys to {what} {ours}: the rule (and the "
            "archive) would be created on a bus of this stack's own account and region",
            "deploy the fan-out in the bus's account and region, or forward the events to a "
            "bus of this account with a rule on the central bus (cross-account consumers are "
            "not supported yet)",
        )


def check_runtime(v: Validator, handler: lambda_.IFunction, attach_runtime_layers: bool) -> None:
    """The Powertools layer exists only for some Python runtimes."""
    if not attach_runtime_layers or not isinstance(handler, lambda_.Function):
        return
    facts = runtime_facts(handler.runtime)
    v.require(
        facts.family != lambda_.RuntimeFamily.PYTHON or facts.name in SUPPORTED_PYTHON,
        "handler.runtime",
        facts.name,
        f"has no AWS-published Powertools v3 layer (it exists for {', '.join(SUPPORTED_PYTHON)})",
        "use a supported Python runtime, or pass attach_runtime_layers=False and ship "
        "Powertools and event_fanout.runtime with the function yourself",
    )


def check_idempotency(v: Validator, idempotency: Idempotency) -> None:
    """The idempotency options: compilable JMESPath expressions, a usable prefix and expiry.

    An invalid path would otherwise pass synth and fail every record at run time.
    """
    v.require(
        bool(idempotency.key_path.strip()),
        "idempotency.key_path",
        idempotency.key_path,
        "must be a non-empty JMESPath over the EventBridge event",
        'e.g. "id" or "[detail.campaignId, detail.version]"',
    )
    for prop, path in (
        ("idempotency.key_path", idempotency.key_path),
        ("idempotency.payload_validation_path", idempotency.payload_validation_path),
    ):
        problem = jmespath_problem(path) if path and path.strip() else None
        v.require(
            problem is None,
            prop,
            path,
            f"must be a valid JMESPath expression ({problem})",
            'check brackets, commas and quoting, e.g. "[detail.campaignId, detail.version]" '
            "(try it with `python -c \"import jmespath; jmespath.compile('...')\"`)",
        )
    prefix = idempotency.key_prefix
    v.require(
        prefix is None or (bool(prefix.strip()) and len(prefix) <= 200),
        "idempotency.key_prefix",
        prefix,
        "must be a non-empty string of at most 200 characters",
        "use a stable name such as the consumer's id and its fan-out, e.g. 'Orders.Audit'",
    )
    expiry = seconds_of(idempotency.expires_after)
    v.require(
        expiry is None or expiry >= 60,
        "idempotency.expires_after",
        idempotency.expires_after,
        "must be at least 1 minute",
    )


def jmespath_problem(expression: str) -> str | None:
    """Why ``expression`` is not valid JMESPath (the parser's message), or None if it is."""
    try:
        jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as error:
        return " ".join(str(error).split())
    return None


def _idempotency_for(
    scope: Construct, handler: lambda_.IFunction, idempotency: Idempotency | None
) -> Idempotency | None:
    """The default table is for the Python runtime: a non-Python handler gets one if asked."""
    if idempotency is not DEFAULT_IDEMPOTENCY or not isinstance(handler, lambda_.Function):
        return idempotency
    facts = runtime_facts(handler.runtime)
    if facts.family == lambda_.RuntimeFamily.PYTHON:
        return idempotency
    Annotations.of(scope).add_warning_v2(
        "event-fanout:non-python-handler",
        f"handler runs {facts.name}: event_fanout.runtime (idempotency, partial batch responses, "
        "metrics) is Python-only, so no idempotency table is created and the handler must report "
        "batchItemFailures itself. Pass idempotency=Idempotency(...) to create the table for "
        "your own idempotency code.",
    )
    return None


def _check_environment_size(scope: Construct, variables: dict[str, str]) -> None:
    """Lambda refuses a function whose environment passes 4 KB; fail at synth instead."""
    resolved = Stack.of(scope).resolve(variables)
    size = sum(
        len(name) + (len(value) if isinstance(value, str) else 256)  # a Ref: a name, <=256
        for name, value in resolved.items()
    )
    if size > LAMBDA_ENVIRONMENT_LIMIT:
        v = Validator(scope)
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


def _idempotency_expiry(
    scope: Construct,
    idempotency: Idempotency | None,
    *,
    fifo: bool,
    retention_period: Duration,
    dead_letter_retention_period: Duration,
) -> str:
    """``IDEMPOTENCY_EXPIRES_AFTER_SECONDS``: the explicit expiry, else the message lifetime.

    A key that expires while its message can still be delivered lets that delivery run the
    handler again, so an explicit expiry shorter than the lifetime is a synth warning.
    """
    source = seconds_of(retention_period)
    dlq = seconds_of(dead_letter_retention_period)
    lifetime: int | None
    if not fifo:
        lifetime = dlq  # the source retention is shorter (validated): the DLQ's alone decides
    elif source is None or dlq is None:
        lifetime = None
    else:
        lifetime = message_lifetime_seconds(
            fifo=fifo, retention_seconds=source, dead_letter_retention_seconds=dlq
        )
    explicit = idempotency.expires_after if idempotency is not None else None
    if explicit is None:
        if lifetime is not None:
            return str(lifetime)
        # Validation requires an explicit expiry for a FIFO consumer with token retentions;
        # a standard queue's lifetime is its DLQ's retention, carried as the token it is.
        return Token.as_string(dead_letter_retention_period.to_seconds())
    seconds = seconds_of(explicit)
    if seconds is None:
        return Token.as_string(explicit.to_seconds())
    if lifetime is not None and seconds < lifetime:
        kind = "FIFO" if fifo else "standard"
        how = (
            "retention_period + dead_letter_retention_period: a FIFO DLQ resets the enqueue time"
            if fifo
            else "dead_letter_retention_period: the DLQ keeps the original enqueue time"
        )
        Annotations.of(scope).add_warning_v2(
            "event-fanout:idempotency-expiry-below-message-lifetime",
            f"idempotency.expires_after ({seconds} s) is shorter than the longest a message of "
            f"this {kind} queue can still be delivered ({lifetime} s = {how}). A message "
            "redriven or redelivered after its key expired runs the handler again. Raise "
            "expires_after, or omit it to use the lifetime.",
        )
    return str(seconds)


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


def _seconds_or_token(value: Duration) -> float:
    """``value.to_seconds()``: read once per Duration object, a number token passed through."""
    seconds = seconds_of(value)
    return value.to_seconds() if seconds is None else seconds


def _queue_name(scope: Construct, fifo: bool) -> str:
    """A deterministic name derived from the construct path (unique in the account/region).

    The DLQ's redrive-allow policy must name this queue's ARN, and the queue references the
    DLQ: a generated name lets the ARN be written without a circular Ref.
    """
    name = Names.unique_resource_name(scope, max_length=75 if fifo else 80, separator="-")
    return f"{name}.fifo" if fifo else name


def _pattern_has_fields(pattern: events.EventPattern) -> bool:
    fields = (
        pattern.source,
        pattern.detail_type,
        pattern.detail,
        pattern.account,
        pattern.region,
        pattern.resources,
        pattern.id,
        pattern.time,
        pattern.version,
    )
    # bool() first: a token is never falsy, so the jsii call only runs for empty values.
    return any(bool(f) or Token.is_unresolved(f) for f in fields if f is not None)
