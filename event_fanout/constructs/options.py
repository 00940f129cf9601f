"""What the constructs are built from: option groups, consumer props and their typed keywords."""

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypedDict

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from event_fanout.constructs.alarm_options import DEFAULT_ALARMS, ConsumerAlarmOptions
from event_fanout.constructs.event_types import event_type_problems, typed_pattern
from event_fanout.constructs.runtime_layer import POWERTOOLS_LAYER_VERSION
from event_fanout.errors import ConfigProblem, EventFanoutConfigError
from event_fanout.runtime.constants import DEFAULT_IDEMPOTENCY_KEY_PATH

if TYPE_CHECKING:
    from event_fanout.events.event_type import EventType


@dataclass(frozen=True, kw_only=True)
class Idempotency:
    """How a consumer recognises an event it has already handled.

    Parameters
    ----------
    key_path:
        JMESPath over the EventBridge event whose value identifies one unit of work. The default,
        the event ``id``, catches EventBridge and SQS redeliveries; a business key such as
        ``"[detail.campaignId, detail.version]"`` also catches the same fact published twice.
        Never the SQS ``messageId``: duplicates of one event arrive as different messages.
        Default: 'id'.
    expires_after:
        How long a handled key suppresses duplicates. By default, the longest a message can still
        be delivered (Powertools' own default of one hour would let a redrive reprocess
        everything): the dead-letter queue's retention for a standard queue (its DLQ keeps the
        original enqueue time), source retention + DLQ retention for a FIFO queue (its DLQ
        resets it). A shorter value is a synth warning that prints the lifetime.
        Default: None (the message lifetime).
    payload_validation_path:
        Optional JMESPath whose value must be identical when a key repeats; a mismatch (the same
        key carrying different data) fails the record instead of silently skipping it.
        Default: None.
    existing_table:
        Share an existing table (partition key ``id``, TTL ``expiration``) instead of creating one
        per consumer. One table per consumer is the least-privilege default.
        Default: None (one table per consumer).
    key_prefix:
        Prefix of this consumer's records in the table. Set it when consumers with the same id
        (in two fan-outs) share one ``existing_table``: two consumers writing one table under one
        prefix would skip each other's events as duplicates, so that is a synth-time error.
        Default: None (the consumer's id).

    """

    key_path: str = DEFAULT_IDEMPOTENCY_KEY_PATH
    expires_after: Duration | None = None
    payload_validation_path: str | None = None
    existing_table: dynamodb.ITable | None = None
    key_prefix: str | None = None


@dataclass(frozen=True, kw_only=True)
class FanoutMembership:
    """What an ``EventFanout`` hands each of its consumers, explicitly (no shared state).

    Parameters
    ----------
    name:
        The fan-out's name, unique in the account: the ``service`` dimension of the consumers'
        metrics, so same-named consumers of two fan-outs never share metrics or alarms.
    admitting_policies:
        Queues and keys whose policies already admit every rule of the fan-out (its
        undeliverable-events queue and its key): a consumer adds no per-rule statement to them.

    """

    name: str
    admitting_policies: tuple[IConstruct, ...] = ()

    def admits(self, construct: IConstruct | None) -> bool:
        """Whether ``construct``'s policy already admits the fan-out's rules."""
        return construct is not None and any(construct is p for p in self.admitting_policies)


#: A consumer's function, or a factory that builds it in the scope the consumer is placed in.
HandlerOrFactory = lambda_.IFunction | Callable[[Construct], lambda_.IFunction]


class ConsumerOptions(TypedDict, total=False):
    """The keyword arguments of a consumer besides its bus and handler, typed.

    ``FanoutConsumer(scope, id, event_bus=..., handler=..., **options)`` and
    ``EventFanout.add_consumer(id, handler=..., **options)`` both take them as
    ``**options: Unpack[ConsumerOptions]``, so mypy and pyright reject a misspelled argument
    (``batch_sise=10``) or a wrong type. What each means and its default: :class:`ConsumerProps`
    (their one source); ``tests/library/test_consumer_options.py`` keeps the two lists equal.
    """

    event_pattern: events.EventPattern
    # A string: event_fanout.events needs pydantic, imported only when an event type is used.
    event_type: "EventType[Any] | None"
    event_versions: Sequence[int] | None
    batch_size: int
    max_batching_window: Duration | None
    max_concurrency: int | None
    max_receive_count: int
    visibility_timeout: Duration | None
    retention_period: Duration
    dead_letter_retention_period: Duration
    fifo: bool
    message_group_id: str | None
    idempotency: Idempotency | None
    max_message_age: Duration
    alarm_actions: Sequence[cloudwatch.IAlarmAction]
    alarms: ConsumerAlarmOptions
    tracing: bool
    target_dead_letter_queue: sqs.IQueue | None
    retry_attempts: int
    max_event_age: Duration
    attach_runtime_layers: bool
    powertools_layer_version: int
    removal_policy: RemovalPolicy | None
    encryption: sqs.QueueEncryption | None
    encryption_key: kms.IKey | None
    rule_name: str | None
    fanout: FanoutMembership | None


#: The default idempotency options. Compared by identity: a non-Python handler gets a table only
#: when one is asked for (the runtime that uses it is Python's).
DEFAULT_IDEMPOTENCY = Idempotency()


@dataclass(frozen=True, kw_only=True)
class ConsumerProps:
    """Everything one consumer is built from, with the defaults (their one source).

    Parameters
    ----------
    event_bus:
        The bus the rule listens on. Default: required (set by the fan-out).
    handler:
        The consumer function. Its ``timeout`` drives the queue's visibility timeout; it receives
        the idempotency environment and, for Python runtimes, the runtime layers.
        Default: required.
    event_pattern:
        Which events this consumer receives. Must name at least one field. With
        ``event_type``: narrows the type's pattern (source and detail-type), naming them as
        the type does or not at all. Default: required (derived from ``event_type``).
    event_type:
        The :class:`~event_fanout.events.EventType` consumed: it derives the pattern, tells
        the runtime (``fanout_consumer(event_type=...)``) which versions to accept, and is
        published to the fan-out's schema registry and checked by ``event-fanout contracts``.
        Default: None.
    event_versions:
        The versions of ``event_type`` the consumer accepts (its model must read each); an
        event of another version is a failed record, dead-lettered with the reason.
        Default: None (``event_type.version`` only).
    batch_size:
        Records per invocation, 1-10,000 (FIFO: 1-10). Above 10 needs ``max_batching_window``.
        Default: 10.
    max_batching_window:
        How long Lambda gathers a batch (up to 5 minutes). Default: None.
    max_concurrency:
        Cap on concurrent invocations from this queue (2-1000). Default: None (no cap).
    max_receive_count:
        Deliveries before a message moves to the DLQ (1-1000). FIFO: the runtime moves a
        failing record on this receive, and SQS's redrive allows 3 more for crashed
        invocations. Default: 5.
    visibility_timeout:
        Override of the derived value; must be at least function timeout + batching window.
        Default: None (6 x function timeout + batching window).
    retention_period:
        Source queue retention. Default: 4 days.
    dead_letter_retention_period:
        DLQ retention, must exceed ``retention_period``. Default: 14 days.
    fifo:
        FIFO queue and DLQ (content-based deduplication on). Default: False.
    message_group_id:
        The group id EventBridge sends every event of this consumer with (a rule's SQS target
        cannot derive it from the event). Required with ``fifo=True``: strict order. On a
        standard queue it makes the queue an SQS fair queue with one tenant: see the README on
        fair queues before relying on it. Default: None.
    idempotency:
        Options of the idempotency table; ``None`` disables it (no table, no environment).
        Default: Idempotency().
    max_message_age:
        Age of the oldest queued message that raises the lag alarm. Default: 5 minutes.
    alarm_actions:
        Where alarms notify (ALARM and OK). Default: () (the fan-out's).
    alarms:
        Which alarms exist and when each fires: ``ConsumerAlarmOptions(failed_records=
        AlarmOptions(enabled=False), failed_record_rate=AlarmOptions(enabled=True))``.
        Default: ConsumerAlarmOptions() (seven alarms on, the rate and no-events alarms off).
    tracing:
        Active X-Ray tracing on the function, and one subsegment per record from the runtime
        (annotated with event id, correlation id, consumer and outcome). Needs a function
        defined in this app. Default: False.
    target_dead_letter_queue:
        Where EventBridge sends events it could not deliver. Default: None (the fan-out's, or
        its own).
    retry_attempts:
        EventBridge's delivery retries (0-185). EventBridge's maximum by default: a throttled
        queue should delay events, not drop them. Default: 185.
    max_event_age:
        How long EventBridge keeps retrying (1 minute-24 hours). Default: 1 day.
    attach_runtime_layers:
        Attach the Powertools layer (pinned version) and the ``event_fanout.runtime`` layer to a
        Python handler. Default: True.
    powertools_layer_version:
        Version of the AWS-published Powertools v3 layer. Default: 38.
    removal_policy:
        Applied to the queues and the idempotency table. Default: None (retain the table,
        destroy the queues).
    encryption:
        ``SQS_MANAGED`` or ``KMS``; ``KMS`` without a key creates one for this consumer.
        Default: None (the fan-out's; KMS if ``encryption_key`` is given, else SQS-managed).
    encryption_key:
        Customer-managed key of the queue and DLQ. Default: None (the fan-out's).
    rule_name:
        Physical name of the rule. Derived from the construct path when a key policy must name
        the rule; on a bus it did not create, ``EventFanout`` names its rules so its
        undeliverable-events queue admits only its own rules. Default: None (generated).
    fanout:
        What the fan-out this consumer belongs to hands it: its name (the ``service`` dimension
        of the runtime's metrics) and the queues and keys whose policies already admit its
        rules. Default: None (set by the fan-out).

    """

    event_bus: events.IEventBus
    handler: lambda_.IFunction
    event_pattern: events.EventPattern
    event_type: "EventType[Any] | None" = None
    event_versions: Sequence[int] | None = None
    batch_size: int = 10
    max_batching_window: Duration | None = None
    max_concurrency: int | None = None
    max_receive_count: int = 5
    visibility_timeout: Duration | None = None
    retention_period: Duration = Duration.days(4)
    dead_letter_retention_period: Duration = Duration.days(14)
    fifo: bool = False
    message_group_id: str | None = None
    idempotency: Idempotency | None = DEFAULT_IDEMPOTENCY
    max_message_age: Duration = Duration.minutes(5)
    alarm_actions: Sequence[cloudwatch.IAlarmAction] = ()
    alarms: ConsumerAlarmOptions = DEFAULT_ALARMS
    tracing: bool = False
    target_dead_letter_queue: sqs.IQueue | None = None
    retry_attempts: int = 185
    max_event_age: Duration = Duration.hours(24)
    attach_runtime_layers: bool = True
    powertools_layer_version: int = POWERTOOLS_LAYER_VERSION
    removal_policy: RemovalPolicy | None = None
    encryption: sqs.QueueEncryption | None = None
    encryption_key: kms.IKey | None = None
    rule_name: str | None = None
    fanout: FanoutMembership | None = None


#: The arguments ``ConsumerOptions`` carries (every prop but the bus and the handler).
CONSUMER_OPTIONS: Final = frozenset(ConsumerOptions.__annotations__)


def consumer_props(
    path: str,
    *,
    event_bus: events.IEventBus,
    handler: lambda_.IFunction,
    options: Mapping[str, Any],
) -> ConsumerProps:
    """Pack a consumer's arguments, refusing an unknown or missing one with the fix.

    mypy rejects a misspelled keyword; a caller without a type checker gets this error (with the
    closest known name) instead of a ``TypeError`` from the dataclass.
    """
    problems = [
        ConfigProblem(
            path,
            unknown,
            options[unknown],
            "is not an argument of a fan-out consumer",
            f"did you mean {close[0]}=?" if close else "see ConsumerProps' arguments",
        )
        for unknown in sorted(set(options) - CONSUMER_OPTIONS)
        for close in [difflib.get_close_matches(unknown, CONSUMER_OPTIONS, n=1)]
    ]
    resolved = dict(options)
    event_type = options.get("event_type")
    if event_type is None and "event_pattern" not in options:
        problems.append(
            ConfigProblem(
                path,
                "event_pattern",
                None,
                "is required (or event_type, which derives it)",
                'pass event_pattern=EventPattern(source=["..."]), or event_type=<an EventType>',
            )
        )
    if event_type is not None or options.get("event_versions") is not None:
        problems += event_type_problems(path, event_type, options.get("event_versions"))
        if not problems and event_type is not None:
            resolved["event_pattern"] = typed_pattern(
                path, event_type, options.get("event_pattern")
            )
            versions = options.get("event_versions")
            resolved["event_versions"] = (
                tuple(versions) if versions is not None else (event_type.version,)
            )
    if problems:
        raise EventFanoutConfigError(problems)
    return ConsumerProps(event_bus=event_bus, handler=handler, **resolved)
