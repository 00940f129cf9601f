"""How the reference stack builds a consumer function that a security reviewer signs off.

Not a library construct: the function is the user's. This is what the reference stack (and the
maximal configuration the tests check) does, and a starting point to copy.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

#: Why the remaining compliance-pack findings on a consumer function do not apply.
FUNCTION_ACKNOWLEDGEMENTS = {
    "LambdaDLQ": (
        "Invoked synchronously by the SQS event source mapping: a function DLQ only applies "
        "to asynchronous invocations. Failed records go to the queue's dead-letter queue."
    ),
    "LambdaInsideVPC": (
        "Reaches only AWS APIs (DynamoDB, CloudWatch Logs; SQS through the mapping) over TLS "
        "with IAM auth and no private network resources: a VPC would add NAT or endpoint cost "
        "without reducing exposure."
    ),
    "LambdaConcurrency": (
        "Concurrency is bounded on the SQS event source mapping (max_concurrency), as AWS "
        "recommends for SQS: reserved concurrency below the mapping's would throttle "
        "invocations and push healthy messages towards the dead-letter queue."
    ),
}
ROLE_ACKNOWLEDGEMENTS = {
    "IAMNoInlinePolicy": (
        "The role's only policy is the CDK-generated default policy of least-privilege grants "
        "for this one function; it is attached to nothing else."
    ),
}
XRAY_ACKNOWLEDGEMENT = (
    "X-Ray's PutTraceSegments and PutTelemetryRecords do not support resource-level "
    "permissions; '*' is the only resource they accept."
)
PACKS = {"NIST.800.53.R5": "NIST.800.53.R5", "HIPAA.Security": "HIPAA.Security"}


def logs_key(scope: Construct, construct_id: str = "LogsKey") -> kms.Key:
    """A key CloudWatch Logs may use, for this account's log groups only."""
    stack = Stack.of(scope)
    key = kms.Key(
        scope,
        construct_id,
        enable_key_rotation=True,
        description="Encrypts the consumer functions' log groups",
        removal_policy=RemovalPolicy.DESTROY,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=[
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
                "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:DescribeKey",
            ],
            resources=["*"],  # in a key policy, "*" is this key
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    )
                }
            },
        )
    )
    return key


def consumer_function(
    scope: Construct,
    construct_id: str,
    *,
    handler: str,
    code_dir: Path,
    environment: dict[str, str],
    log_key: kms.IKey,
    timeout: Duration = Duration.seconds(30),
) -> lambda_.Function:
    """A consumer function with its own encrypted log group and a role scoped to it.

    The role is written out rather than taking ``AWSLambdaBasicExecutionRole``: that managed
    policy lets the function write to every log group in the account.
    """
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        retention=logs.RetentionDays.ONE_MONTH,
        encryption_key=log_key,
        removal_policy=RemovalPolicy.DESTROY,
    )
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Execution role of {construct_id}",
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_14,
        architecture=lambda_.Architecture.ARM_64,
        handler=handler,
        code=lambda_.Code.from_asset(
            str(code_dir), exclude=["__pycache__", "*.pyc", "__init__.py"]
        ),
        timeout=timeout,
        memory_size=256,
        role=role,
        log_group=log_group,
        tracing=lambda_.Tracing.ACTIVE,
        environment=environment,
    )
    acknowledge(function, FUNCTION_ACKNOWLEDGEMENTS)
    acknowledge(role, ROLE_ACKNOWLEDGEMENTS)
    acknowledge_finding(role, "AwsSolutions::AwsSolutions-IAM5[Resource::*]", XRAY_ACKNOWLEDGEMENT)
    return function


def acknowledge_finding(construct: Construct, finding_id: str, reason: str) -> None:
    """Acknowledge one finding of a rule, such as ``AwsSolutions-IAM5[Resource::*]``.

    WARNING: aws-cdk-lib releases before the fix of cdklabs/cdk-nag#2359 reject a finding id
    with a second ``::`` ("The '::' delimiter is reserved"), the package's minimum among them.
    There the acknowledgement is written as the metadata ``Validations.acknowledge`` itself
    writes (``Validations.ACKNOWLEDGED_RULES_METADATA_KEY``), the workaround given in that issue.
    """
    try:
        Validations.of(construct).acknowledge(Acknowledgment(id=finding_id, reason=reason))
    except RuntimeError as error:
        if "InvalidValidationId" not in str(error):
            raise
        construct.node.add_metadata(
            Validations.ACKNOWLEDGED_RULES_METADATA_KEY, {finding_id: reason}, stack_trace=False
        )


def acknowledge(
    construct: Construct,
    rules: dict[str, str],
    packs: tuple[str, ...] = ("NIST.800.53.R5", "HIPAA.Security"),
) -> None:
    """Acknowledge the same rule of several compliance packs, with one reason each."""
    for rule, reason in rules.items():
        for pack in packs:
            Validations.of(construct).acknowledge(
                Acknowledgment(id=f"{pack}::{pack}-{rule}", reason=reason)
            )
        if rule == "LambdaDLQ":
            Validations.of(construct).acknowledge(
                Acknowledgment(id="Serverless::Serverless-LambdaDLQ", reason=reason)
            )
