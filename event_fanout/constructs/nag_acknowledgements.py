"""The cdk-nag findings this library acknowledges, each on the one resource it concerns.

Every entry is listed in the README ("cdk-nag acknowledgements the library applies") and a test
keeps that list equal to this module.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct

#: rule id -> reason, for a queue that is itself a dead-letter queue.
DEAD_LETTER_QUEUE = {
    "AwsSolutions::AwsSolutions-SQS3": (
        "This queue is itself a dead-letter queue; cdk-nag only recognises DLQs attached through "
        "an SQS redrive policy, not EventBridge targets' dead-letter configs."
    ),
    "Serverless::Serverless-SQSRedrivePolicy": (
        "This queue is itself a dead-letter queue: a redrive policy on it would move failed "
        "messages a second time, away from the alarm that watches it."
    ),
}
#: rule id -> reason, for the idempotency table.
IDEMPOTENCY_TABLE = {
    f"{pack}::{pack}-DynamoDBInBackupPlan": (
        "Holds short-lived deduplication markers that expire by TTL; point-in-time recovery is "
        "on. Restoring an old backup would resurrect expired keys, not recover data."
    )
    for pack in ("NIST.800.53.R5", "HIPAA.Security")
}
#: rule id -> reason, for the SQS event source mapping.
EVENT_SOURCE_MAPPING = {
    "Serverless::Serverless-LambdaEventSourceMappingDestination": (
        "On-failure destinations exist only for stream and Kafka sources; for SQS the failure "
        "path is the queue's redrive policy to its dead-letter queue, which this library sets."
    ),
}

#: rule id -> reason, for the policy that lets a traced consumer function write to X-Ray.
TRACING_POLICY = {
    f"{pack}::{pack}-IAM5": (
        "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
        "permissions (AWS's own AWSXRayDaemonWriteAccess grants them on *); this policy holds "
        "nothing else."
    )
    for pack in ("AwsSolutions",)
}

ALL = {
    "dead-letter queues (consumer DLQs, undeliverable-events queues)": DEAD_LETTER_QUEUE,
    "idempotency tables": IDEMPOTENCY_TABLE,
    "SQS event source mappings": EVENT_SOURCE_MAPPING,
    "X-Ray write policies of consumers with tracing=True": TRACING_POLICY,
}


def acknowledge(construct: IConstruct, rules: dict[str, str]) -> None:
    """Acknowledge ``rules`` on ``construct`` for cdk-nag 3 and cdk-nag 2 alike.

    cdk-nag 3 is a policy-validation plugin that reads ``Validations`` acknowledgements (rule ids
    ``<pack>::<rule>``). cdk-nag 2, still widely run as Aspects, reads the ``cdk_nag`` metadata
    of each CloudFormation resource (``rules_to_suppress``, rule ids without the pack), as
    ``NagSuppressions.add_resource_suppressions`` writes it: the same reasons are written there,
    so neither version needs importing here.
    """
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=rule_id, reason=reason) for rule_id, reason in rules.items())
    )
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if isinstance(resource, CfnResource):
        add_cdk_nag_2_suppressions(resource, rules)


def add_cdk_nag_2_suppressions(resource: CfnResource, rules: dict[str, str]) -> None:
    """Merge ``rules`` into the resource's ``cdk_nag`` metadata (cdk-nag 2's suppressions)."""
    metadata = resource.get_metadata(CDK_NAG_2_METADATA) or {}
    suppressions = list(metadata.get("rules_to_suppress", []))
    known = {entry["id"] for entry in suppressions}
    for rule_id, reason in rules.items():
        short_id = rule_id.split("::", 1)[-1]  # "AwsSolutions::AwsSolutions-SQS3" -> "...-SQS3"
        if short_id not in known:
            suppressions.append({"id": short_id, "reason": reason})
            known.add(short_id)
    resource.add_metadata(CDK_NAG_2_METADATA, {**metadata, "rules_to_suppress": suppressions})


#: The resource metadata key cdk-nag 2 reads suppressions from.
CDK_NAG_2_METADATA = "cdk_nag"
