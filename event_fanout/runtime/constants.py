"""Names shared by the constructs (which set them) and the runtime (which reads them).

The construct side imports these; the runtime never imports the construct side, so the
Lambda layer can ship this package without aws_cdk.
"""

from __future__ import annotations

from typing import Final

#: Partition key of the idempotency table; the attribute Powertools' DynamoDB layer writes.
IDEMPOTENCY_KEY_ATTRIBUTE: Final = "id"
#: TTL attribute of the idempotency table; Powertools stores the record expiry (epoch seconds) here.
IDEMPOTENCY_EXPIRY_ATTRIBUTE: Final = "expiration"

#: Name of the consumer's idempotency table.
ENV_IDEMPOTENCY_TABLE_NAME: Final = "IDEMPOTENCY_TABLE_NAME"
#: JMESPath over the EventBridge event that yields the idempotency key.
ENV_IDEMPOTENCY_KEY_PATH: Final = "IDEMPOTENCY_KEY_PATH"
#: How long (seconds) a completed record suppresses duplicates.
ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS: Final = "IDEMPOTENCY_EXPIRES_AFTER_SECONDS"
#: Stable prefix of the idempotency records (the consumer's name): renaming a handler keeps dedup.
ENV_IDEMPOTENCY_KEY_PREFIX: Final = "IDEMPOTENCY_KEY_PREFIX"
#: Optional JMESPath whose value must match on a repeated key (payload validation); empty: off.
ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH: Final = "IDEMPOTENCY_PAYLOAD_VALIDATION_PATH"
#: The consumer's name, stamped on every log line and metric.
ENV_CONSUMER_NAME: Final = "EVENT_FANOUT_CONSUMER"

#: Powertools' own settings the construct also fills in.
ENV_POWERTOOLS_SERVICE_NAME: Final = "POWERTOOLS_SERVICE_NAME"
ENV_POWERTOOLS_METRICS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"

#: Default JMESPath of the idempotency key: the EventBridge event id (never the SQS messageId,
#: which differs between duplicate deliveries of the same event).
DEFAULT_IDEMPOTENCY_KEY_PATH: Final = "id"
#: CloudWatch namespace of the runtime's metrics.
DEFAULT_METRICS_NAMESPACE: Final = "EventFanout"

#: Default idempotency expiry: the longest a message can still be delivered (the DLQ's maximum
#: retention, 14 days), because Powertools' 1 h default lets a late redrive reprocess an event.
DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS: Final = 14 * 24 * 60 * 60

#: Metric names (CloudWatch embedded metric format) the runtime emits once per invocation.
METRIC_PROCESSED: Final = "Processed"
METRIC_DUPLICATE: Final = "Duplicate"
METRIC_FAILED: Final = "Failed"
#: Subsets of ``Failed``: bodies that are not EventBridge events; keys reused with another payload.
METRIC_MALFORMED: Final = "Malformed"
METRIC_PAYLOAD_MISMATCH: Final = "PayloadMismatch"
#: Dimension (besides Powertools' ``service``) that carries the consumer's name on every metric.
METRIC_DIMENSION_CONSUMER: Final = "consumer"

#: URL of the consumer's own dead-letter queue. Set for FIFO consumers: on a record's last
#: allowed receive the runtime moves a failing record there itself, so the healthy records of its
#: message group behind it are processed instead of being dead-lettered with it.
ENV_DEAD_LETTER_QUEUE_URL: Final = "EVENT_FANOUT_DEAD_LETTER_QUEUE_URL"
#: The consumer's ``max_receive_count``, read with the DLQ URL above: the receive on which the
#: runtime moves a failing FIFO record (the queue's redrive policy allows a few more receives, for
#: invocations that crashed).
ENV_MAX_RECEIVE_COUNT: Final = "EVENT_FANOUT_MAX_RECEIVE_COUNT"
#: Metric: failing records the runtime moved to the dead-letter queue itself (FIFO, last receive).
METRIC_DEAD_LETTERED: Final = "DeadLettered"
#: String message attribute the runtime adds to a record it moves to the dead-letter queue itself:
#: why the record failed on its last receive (an operator reads it before a redrive).
DEAD_LETTER_REASON_ATTRIBUTE: Final = "EventFanoutFailureReason"
#: The ``service`` dimension of the runtime's metrics (the fan-out's name, unique in the
#: account). Set by the construct beside ``EVENT_FANOUT_CONSUMER``; falls back to
#: ``POWERTOOLS_SERVICE_NAME`` (which names the logs' service and stays the user's to change).
ENV_METRICS_SERVICE: Final = "EVENT_FANOUT_METRICS_SERVICE"

#: A replay whose name starts with this reprocesses its events (``event-fanout replay
#: --reprocess``): the runtime keys them in a namespace of that replay, so events already
#: processed run again, once per replay. Any other replay's events keep their usual keys and are
#: skipped as the duplicates they are. EventBridge adds ``replay-name`` to every replayed event.
REPROCESS_REPLAY_PREFIX: Final = "reprocess-"
#: The envelope field EventBridge adds to replayed events.
REPLAY_NAME_FIELD: Final = "replay-name"
#: "true" when the consumer's function has active tracing (``tracing=True`` on the construct):
#: the runtime then records one X-Ray subsegment per record (Powertools Tracer, imported only
#: then, so a consumer without tracing starts as before).
ENV_TRACING: Final = "EVENT_FANOUT_TRACING"

#: The contract version an ``EventType`` stamps into each event's ``detail``.
EVENT_VERSION_FIELD: Final = "eventVersion"
#: The versions of its event type a consumer accepts (comma-separated), set by the construct
#: from ``add_consumer(event_versions=...)``.
ENV_EVENT_VERSIONS: Final = "EVENT_FANOUT_EVENT_VERSIONS"
#: The event type a consumer subscribes to (``<source>@<detail-type>``), set by the construct.
ENV_EVENT_TYPE: Final = "EVENT_FANOUT_EVENT_TYPE"
#: Threads the records of one batch run on, when the handler does not say
#: (``fanout_consumer(max_workers=...)``); unset: 1, one record after another.
ENV_MAX_WORKERS: Final = "EVENT_FANOUT_MAX_WORKERS"
