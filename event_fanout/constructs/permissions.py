"""Every permission the constructs write: queue policies, key policies and grants, in one place.

A reviewer reads what EventBridge, the consumer functions and the alarms may do here, next to
nothing else. Each statement is scoped to the one rule, queue, table or key it concerns.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Annotations, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from event_fanout.constructs.lookups import stack_facts


def rule_arn(scope: Construct, event_bus: events.IEventBus, rule_name: str) -> str:
    """The ARN a rule named ``rule_name`` on ``event_bus`` will have.

    Written out rather than taken from the rule (a ``GetAtt``): the key policy would depend on
    the rule, the rule on the queue, the queue on the key, a cycle CloudFormation refuses.
    """
    facts = stack_facts(scope)
    name = event_bus.event_bus_name
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


def allow_rules_to_send(
    queue: sqs.IQueue,
    source_arn: str,
    *,
    principal: iam.IPrincipal,
    like: bool = False,
) -> None:
    """Let EventBridge (``principal``) send to ``queue`` only for rules matching ``source_arn``.

    ``like=True`` takes a wildcard pattern (every rule on one bus): one statement whatever the
    number of consumers, where one statement per rule would break SQS's 20-statement limit.
    """
    queue.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[principal],
            actions=["sqs:SendMessage"],
            resources=[queue.queue_arn],
            conditions={("ArnLike" if like else "ArnEquals"): {"aws:SourceArn": source_arn}},
        )
    )


#: What Powertools' DynamoDB persistence layer calls, and nothing else (no Scan, no batch writes).
IDEMPOTENCY_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
#: What DynamoDB needs from a caller on a table under a customer-managed key, spelled out
#: (CDK's grant uses ReEncrypt* and GenerateDataKey*, wildcards a reviewer has to argue about).
IDEMPOTENCY_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")


def grant_idempotency_access(
    handler: lambda_.IFunction, table: dynamodb.ITable, encryption_key: kms.IKey | None
) -> None:
    """Let the consumer run Powertools' idempotency calls on ``table``, and only those.

    ``encryption_key`` is the table's key (the consumer's, or ``table.encryption_key`` of a
    shared table), granted the calls DynamoDB makes on the caller's behalf, spelled out.
    """
    # The table's own grant names the table (and its indexes and replicas, if any).
    table.grant(handler, *IDEMPOTENCY_TABLE_ACTIONS)
    if encryption_key is not None:
        encryption_key.grant(handler, *IDEMPOTENCY_KEY_ACTIONS)


def allow_function_to_dead_letter(
    function: lambda_.Function, dead_letter_queue: sqs.IQueue, key: kms.IKey | None
) -> None:
    """Let a FIFO consumer's function send to its own DLQ (and use the DLQ's key), nothing else.

    The runtime moves a failing record there itself on its last allowed receive.
    """
    function.add_to_role_policy(
        iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[dead_letter_queue.queue_arn])
    )
    if key is not None:
        key.grant(function, "kms:GenerateDataKey", "kms:Decrypt")
