"""The DynamoDB table Powertools' idempotency utility writes its records to."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from event_fanout.constructs import nag_acknowledgements as nag
from event_fanout.runtime.constants import (
    IDEMPOTENCY_EXPIRY_ATTRIBUTE,
    IDEMPOTENCY_KEY_ATTRIBUTE,
)


class IdempotencyTable(Construct):
    """A table shaped exactly as Powertools' ``DynamoDBPersistenceLayer`` expects.

    Partition key ``id`` (string) and TTL on ``expiration`` are Powertools' defaults, so the
    runtime needs no attribute-name configuration. On-demand billing because duplicate checks
    follow the event rate, which is bursty by nature; point-in-time recovery because losing the
    table means reprocessing every event still in flight.

    Parameters
    ----------
    removal_policy:
        Default ``RETAIN``: dropping the table with the stack would silently re-enable
        duplicate processing for a replay.
    encryption_key:
        Optional customer-managed key; default is DynamoDB's AWS-owned key.

    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=IDEMPOTENCY_KEY_ATTRIBUTE, type=dynamodb.AttributeType.STRING
            ),
            time_to_live_attribute=IDEMPOTENCY_EXPIRY_ATTRIBUTE,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED
                if encryption_key is not None
                else dynamodb.TableEncryption.AWS_MANAGED
            ),
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        nag.acknowledge(self.table, nag.IDEMPOTENCY_TABLE)
