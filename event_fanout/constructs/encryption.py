"""Queue encryption choices: SQS-managed SSE or a customer-managed key, and which key where.

EventBridge cannot deliver to a queue encrypted with the AWS-managed ``alias/aws/sqs`` key (its
policy cannot be changed to admit ``events.amazonaws.com``) and fails silently: the only choices
offered are SQS-managed SSE and a customer-managed key.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from event_fanout.constructs.permissions import can_change_policy
from event_fanout.errors import ConfigProblem

#: The encryption settings a fan-out queue may take.
SUPPORTED_ENCRYPTION = (sqs.QueueEncryption.SQS_MANAGED, sqs.QueueEncryption.KMS)


def queue_encryption_props(key: kms.IKey | None) -> dict[str, Any]:
    """``sqs.Queue`` keyword arguments for a customer key, or SQS-managed SSE without one."""
    if key is None:
        return {"encryption": sqs.QueueEncryption.SQS_MANAGED}
    return {"encryption": sqs.QueueEncryption.KMS, "encryption_master_key": key}


def create_queue_key(
    scope: Construct, construct_id: str, description: str, removal_policy: RemovalPolicy | None
) -> kms.Key:
    """A customer-managed key for queues, rotated yearly."""
    return kms.Key(
        scope,
        construct_id,
        enable_key_rotation=True,
        description=description,
        removal_policy=removal_policy or RemovalPolicy.RETAIN,
    )


def encryption_problems(
    path: str, encryption: sqs.QueueEncryption | None, encryption_key: kms.IKey | None
) -> list[ConfigProblem]:
    """The encryption props the fan-out and each consumer share: supported, and consistent."""
    problems = []
    if encryption is not None and encryption not in SUPPORTED_ENCRYPTION:
        problems.append(
            ConfigProblem(
                path,
                "encryption",
                encryption,
                "must be QueueEncryption.SQS_MANAGED or QueueEncryption.KMS",
                "EventBridge cannot use the AWS-managed alias/aws/sqs key (KMS_MANAGED) and "
                "unencrypted queues are not offered; pass KMS with or without encryption_key",
            )
        )
    if encryption_key is not None and encryption not in (None, sqs.QueueEncryption.KMS):
        problems.append(
            ConfigProblem(
                path,
                "encryption_key",
                encryption_key,
                f"requires encryption=QueueEncryption.KMS, got encryption={encryption}",
                "pass encryption=QueueEncryption.KMS with the key, or drop encryption_key",
            )
        )
    return problems


def key_for_undeliverable_queue(key: kms.IKey | None) -> kms.IKey | None:
    """The key an undeliverable-events queue may use: only one whose policy this app writes.

    That queue is the last place an event can land; under an imported key whose owner has not
    added EventBridge's statement, it would lose exactly the events it exists to keep. It falls
    back to SQS-managed encryption instead.
    """
    return key if key is not None and can_change_policy(key) else None
