"""Queue encryption choices, and the key-policy statement EventBridge needs to use a key.

EventBridge cannot deliver to a queue encrypted with the AWS-managed ``alias/aws/sqs`` key (its
policy cannot be changed to admit ``events.amazonaws.com``) and fails silently: the only choices
offered are SQS-managed SSE and a customer-managed key.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

from aws_cdk import Annotations, RemovalPolicy, Stack
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


def bus_rules_arn_pattern(
    scope: Construct, event_bus: events.IEventBus, rule_name_prefix: str | None = None
) -> str:
    """An ``ArnLike`` pattern matching the rules on ``event_bus`` named ``rule_name_prefix*``.

    Without a prefix, every rule on the bus; a fan-out on a bus it did not create names its
    rules with a prefix so the pattern stays its own (on the default bus, ``rule/*`` would be
    every rule of the account, custom buses' included).
    """
    return rule_arn(scope, event_bus, f"{rule_name_prefix or ''}*")


def mark_bus_wide(construct: IConstruct) -> None:
    """Record that ``construct``'s policy already admits every rule of its bus."""
    _BUS_WIDE.add(construct)


def is_bus_wide(construct: IConstruct | None) -> bool:
    """Whether a per-rule statement on ``construct`` would be redundant."""
    return construct is not None and construct in _BUS_WIDE


#: What EventBridge needs of a queue's key to deliver to it (and to its dead-letter queue).
EVENTBRIDGE_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def can_change_policy(key: kms.IKey) -> bool:
    """Whether ``key``'s policy is written by this app (``add_to_resource_policy`` works).

    An imported key (``Key.from_key_arn``, ``from_lookup``) accepts the call and drops it.
    """
    return isinstance(key, kms.Key)


def eventbridge_key_statement(source_arn: str, *, like: bool = False) -> dict[str, Any]:
    """The key-policy statement (policy JSON) that lets rules matching ``source_arn`` use a key."""
    return {
        "Sid": "AllowEventBridgeToUseTheKey",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": list(EVENTBRIDGE_KEY_ACTIONS),
        "Resource": "*",
        "Condition": {("ArnLike" if like else "ArnEquals"): {"aws:SourceArn": source_arn}},
    }


def warn_if_key_cannot_admit_events(
    scope: Construct, key: kms.IKey, source_arn: str, *, like: bool = False
) -> None:
    """Warn, printing the statement to add, when EventBridge's grant on ``key`` cannot be written.

    Without it EventBridge cannot encrypt with the key: every delivery fails, and after the
    retry window the events are dropped, with nothing in any queue to show for it.
    """
    if can_change_policy(key):
        return
    statement = json.dumps(eventbridge_key_statement(_resolved(scope, source_arn), like=like))
    Annotations.of(scope).add_warning_v2(
        "event-fanout:imported-key-needs-eventbridge-statement",
        f"encryption_key {key.key_arn} is imported: this app cannot add the key-policy "
        "statement EventBridge needs to deliver to its queues, and without it every delivery "
        "fails and events are dropped after the retry window. The key's owner must add: "
        f"{statement}",
    )


def _resolved(scope: Construct, value: str) -> str:
    """``value`` as the template would write it, pseudo parameters as ``${AWS::Partition}``."""
    resolved = Stack.of(scope).resolve(value)
    if isinstance(resolved, str):
        return resolved
    parts = resolved.get("Fn::Join", ["", [resolved]])[1] if isinstance(resolved, dict) else []
    return "".join(
        part if isinstance(part, str) else "${" + str(part.get("Ref", part)) + "}" for part in parts
    )


def key_for_undeliverable_queue(key: kms.IKey | None) -> kms.IKey | None:
    """The key an undeliverable-events queue may use: only one whose policy this app writes.

    That queue is the last place an event can land; under an imported key whose owner has not
    added EventBridge's statement, it would lose exactly the events it exists to keep. It falls
    back to SQS-managed encryption instead.
    """
    return key if key is not None and can_change_policy(key) else None


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
            actions=list(EVENTBRIDGE_KEY_ACTIONS),
            resources=["*"],  # in a key policy, "*" is this key
            conditions={("ArnLike" if like else "ArnEquals"): {"aws:SourceArn": source_arn}},
        )
    )
