"""Queue encryption choices, and the key-policy statement EventBridge needs to use a key.

EventBridge cannot deliver to a queue encrypted with the AWS-managed ``alias/aws/sqs`` key (its
policy cannot be changed to admit ``events.amazonaws.com``) and fails silently: the only choices
offered are SQS-managed SSE and a customer-managed key.
"""

from __future__ import annotations

import weakref
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from event_fanout.constructs.lookups import bus_name, stack_facts
from event_fanout.constructs.validation import Validator

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


def check_encryption(
    v: Validator, encryption: sqs.QueueEncryption | None, encryption_key: kms.IKey | None
) -> None:
    """The encryption props the fan-out and each consumer share: supported, and consistent."""
    v.require(
        encryption is None or encryption in SUPPORTED_ENCRYPTION,
        "encryption",
        encryption,
        "must be QueueEncryption.SQS_MANAGED or QueueEncryption.KMS",
        "EventBridge cannot use the AWS-managed alias/aws/sqs key (KMS_MANAGED) and "
        "unencrypted queues are not offered; pass KMS with or without encryption_key",
    )
    v.require(
        encryption_key is None or encryption in (None, sqs.QueueEncryption.KMS),
        "encryption_key",
        encryption_key,
        f"requires encryption=QueueEncryption.KMS, got encryption={encryption}",
        "pass encryption=QueueEncryption.KMS with the key, or drop encryption_key",
    )


#: Queues and keys whose policy already admits every rule of their bus. Kept on the Python side:
#: jsii hands back the same Python object for a construct, and reading construct metadata
#: costs a round trip to the jsii kernel per entry, for every consumer.
_BUS_WIDE: weakref.WeakSet[IConstruct] = weakref.WeakSet()


def rule_arn(scope: Construct, event_bus: events.IEventBus, rule_name: str) -> str:
    """The ARN a rule named ``rule_name`` on ``event_bus`` will have.

    Written out rather than taken from the rule (a ``GetAtt``): the key policy would depend on
    the rule, the rule on the queue, the queue on the key, a cycle CloudFormation refuses.
    """
    facts = stack_facts(scope)  # cached per scope: consumers pass the scope they share
    name = bus_name(event_bus)
    path = rule_name if name == "default" else f"{name}/{rule_name}"
    return f"arn:{facts.partition}:events:{facts.region}:{facts.account}:rule/{path}"


def bus_rules_arn_pattern(scope: Construct, event_bus: events.IEventBus) -> str:
    """An ``ArnLike`` pattern matching every rule on ``event_bus`` in this account."""
    return rule_arn(scope, event_bus, "*")


def mark_bus_wide(construct: IConstruct) -> None:
    """Record that ``construct``'s policy already admits every rule of its bus."""
    _BUS_WIDE.add(construct)


def is_bus_wide(construct: IConstruct | None) -> bool:
    """Whether a per-rule statement on ``construct`` would be redundant."""
    return construct is not None and construct in _BUS_WIDE


def allow_rule_to_use_key(
    key: kms.IKey | None, sid_scope: Construct, source_arn: str, *, like: bool = False
) -> None:
    """Let EventBridge encrypt messages with ``key``, only for rules matching ``source_arn``.

    Needed for a consumer's queue (the rule's target) and for the undeliverable-events queue
    (the target's DLQ). Imported keys cannot be changed here: their owner must add the same
    statement (``add_to_resource_policy`` is a no-op for them).
    """
    if key is None:
        return
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=f"AllowEventBridge{sid_scope.node.addr[:12]}",
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=["*"],  # in a key policy, "*" is this key
            conditions={("ArnLike" if like else "ArnEquals"): {"aws:SourceArn": source_arn}},
        )
    )
