"""Option groups passed to the constructs, and the typed keyword arguments of ``add_consumer``."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Required, TypedDict

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from event_fanout.runtime.constants import DEFAULT_IDEMPOTENCY_KEY_PATH


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
    expires_after:
        How long a handled key suppresses duplicates. Default: the longest a message can still be
        delivered (Powertools' own default of one hour would let a redrive reprocess everything):
        the dead-letter queue's retention for a standard queue (its DLQ keeps the original enqueue
        time), source retention + DLQ retention for a FIFO queue (its DLQ resets it). A shorter
        value is a synth warning that prints the lifetime.
    payload_validation_path:
        Optional JMESPath whose value must be identical when a key repeats; a mismatch (the same
        key carrying different data) fails the record instead of silently skipping it.
    existing_table:
        Share an existing table (partition key ``id``, TTL ``expiration``) instead of creating one
        per consumer. One table per consumer is the least-privilege default.
    key_prefix:
        Prefix of this consumer's records in the table. Default: the consumer's id. Set it when
        consumers with the same id (in two fan-outs) share one ``existing_table``: two consumers
        writing one table under one prefix would skip each other's events as duplicates, so that
        is a synth-time error.

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
    """The keyword arguments of ``EventFanout.add_consumer``: :class:`FanoutConsumer`'s, typed.

    ``add_consumer(id, **options: Unpack[ConsumerOptions])`` lets mypy and pyright reject a
    misspelled argument (``batch_sise=10``) or a wrong type, which ``**props: Any`` let through.
    The defaults are those of :class:`FanoutConsumer`'s signature (their one source);
    ``tests/library/test_consumer_options.py`` keeps the two lists equal. ``event_bus`` is not
    here: the fan-out sets it. ``handler`` may also be a factory ``(scope) -> Function``.
    """

    handler: Required[HandlerOrFactory]
    event_pattern: Required[events.EventPattern]
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
