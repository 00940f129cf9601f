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
#: Stable prefix of the idempotency records (the consumer's name), so renaming a handler keeps dedup.
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
