"""Option groups passed to the constructs as frozen keyword-only dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb

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
