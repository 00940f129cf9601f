"""The main job on real AWS: the reference stack deployed with your credentials, and exercised.

``event-fanout demo --aws`` (or ``EVENT_FANOUT_TARGET=aws bash scripts/demo.sh``) runs the same
CDK CLI and template as the local demo, against the account and region of the credentials boto3
finds (``AWS_PROFILE``, environment variables, SSO...). What differs from the emulator is who
runs the consumers: Lambda does, so this module only publishes and then watches.

- Duplicates are published, not copied into the queues: 20 % of the budget changes are sent a
  second time with the same content. EventBridge gives each ``PutEvents`` entry a new id, so a
  consumer keyed on the event id (AuditLog) records both, and one keyed on the business key
  (ReportingSync: campaign id + version) records one.
- The poison event reaches the typed consumers' DLQs after ``max_receive_count`` receives, each
  one a visibility timeout apart (6 x function timeout + batching window: about 3 minutes for
  the reference functions), so expect about 15 minutes; ``wait`` bounds how long the demo
  watches before it reports what it sees.
- The stack is destroyed at the end (its tables and queues have ``RemovalPolicy.DESTROY``)
  unless ``keep=True``.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from event_fanout.local.cdk_cli import DeployError, run_cdk
from event_fanout.local.deployed_stacks import EVENT_SOURCE_MAPPING_TYPE, resources_of_type
from event_fanout.local.publisher import (
    Published,
    StreamEvent,
    budget_stream,
    publish,
)
from event_fanout.local.report import queue_depth, redrive_target_url
from event_fanout.local.session import AwsSession
from event_fanout.stacks.reference import BUDGET_CHANGED, REFERENCE_BUS, REFERENCE_STACK

#: Environment variables of the reference functions naming the table each writes its effects to.
EFFECT_TABLE_VARIABLES = ("BUDGETS_TABLE_NAME", "AUDIT_TABLE_NAME", "NOTIFICATIONS_TABLE_NAME")

Printer = Callable[[str], None]


@dataclass(frozen=True)
class DeployedConsumer:
    """What the demo watches for one consumer: its queues, tables and DLQ alarm."""

    name: str
    queue_url: str
    dead_letter_queue_url: str | None
    idempotency_table: str | None
    effect_table: str | None


@dataclass(frozen=True)
class ConsumerState:
    """One row of the report: what can be observed of a consumer from outside Lambda."""

    consumer: str
    idempotency_records: int
    effect_items: int
    still_queued: int
    in_dlq: int
    dlq_alarm: str


def account_and_region(session: AwsSession) -> tuple[str, str]:
    """The credentials' account and the region, or a :class:`DeployError` saying what to set."""
    sts = session.client("sts")
    region = sts.meta.region_name
    if not region:
        raise DeployError("no AWS region: set AWS_REGION (or a region in your AWS profile)")
    try:
        account: str = sts.get_caller_identity()["Account"]
    except Exception as error:  # NoCredentialsError, ExpiredToken, ...: all mean the same here
        raise DeployError(
            f"no usable AWS credentials ({error}): set AWS_PROFILE, or run `aws sso login`, "
            "or leave out --aws to run the demo on the local emulator"
        ) from error
    return account, region


def deploy_to_account(
    env: Mapping[str, str], account: str, region: str, *, echo: Printer | None = None
) -> Path:
    """``cdk bootstrap`` (a no-op when done) and ``cdk deploy`` of the reference stack.

    Returns the cloud assembly the deploy synthesized, for :func:`destroy` to reuse.
    """
    cli_env = {**env, "CDK_DEFAULT_ACCOUNT": account, "CDK_DEFAULT_REGION": region}
    work = Path(tempfile.mkdtemp(prefix="event-fanout-aws-"))
    run_cdk(["bootstrap", f"aws://{account}/{region}"], cli_env, cwd=work, echo=echo)
    assembly = work / "cdk.out"
    run_cdk(
        [
            "deploy",
            REFERENCE_STACK,
            "--require-approval",
            "never",
            "--progress",
            "events",
            "--output",
            str(assembly),
        ],
        cli_env,
        echo=echo,
    )
    return assembly


def destroy(env: Mapping[str, str], assembly: Path, *, echo: Printer | None = None) -> None:
    """``cdk destroy`` the reference stack deployed from ``assembly`` (no second synth)."""
    run_cdk(["destroy", REFERENCE_STACK, "--force", "--app", str(assembly)], env, echo=echo)


def deployed_consumers(
    session: AwsSession, stack_name: str = REFERENCE_STACK
) -> list[DeployedConsumer]:
    """Every consumer of the deployed stack and its nested shards, by its event source mapping."""
    lambda_client, sqs = session.client("lambda"), session.client("sqs")
    consumers = []
    cloudformation = session.client("cloudformation")
    for summary in resources_of_type(cloudformation, stack_name, EVENT_SOURCE_MAPPING_TYPE):
        mapping = lambda_client.get_event_source_mapping(UUID=summary["PhysicalResourceId"])
        account, queue_name = mapping["EventSourceArn"].split(":")[4:6]
        queue_url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)
        function = lambda_client.get_function_configuration(FunctionName=mapping["FunctionArn"])
        variables = function.get("Environment", {}).get("Variables", {})
        consumers.append(
            DeployedConsumer(
                name=variables.get("EVENT_FANOUT_CONSUMER", queue_name),
                queue_url=queue_url["QueueUrl"],
                dead_letter_queue_url=redrive_target_url(sqs, queue_url["QueueUrl"]),
                idempotency_table=variables.get("IDEMPOTENCY_TABLE_NAME"),
                effect_table=next(
                    (variables[v] for v in EFFECT_TABLE_VARIABLES if v in variables), None
                ),
            )
        )
    return sorted(consumers, key=lambda c: c.name)


def publish_demo_events(
    session: AwsSession, *, events: int = 40, duplicate_rate: float = 0.2, seed: int = 7
) -> tuple[Published, list[StreamEvent]]:
    """Publish the budget stream, one poison and one unmatched event, then some a second time.

    Returns what was published first and the events published again.
    """
    events_client = session.client("events")
    stream = budget_stream(events, poison=1, unmatched=1, seed=seed)
    published = publish(events_client, REFERENCE_BUS, stream)
    normal = [event for event in stream if event.kind == "normal"]
    again = random.Random(seed).sample(normal, round(len(normal) * duplicate_rate))
    publish(events_client, REFERENCE_BUS, again)
    return published, again


def wait_until_drained(
    session: AwsSession,
    consumers: list[DeployedConsumer],
    *,
    timeout: float,
    poll: float = 15,
    echo: Printer | None = None,
) -> bool:
    """Wait until no consumer queue holds a message (visible or in flight); False on timeout."""
    sqs = session.client("sqs")
    deadline = time.monotonic() + timeout
    while True:
        queued = {c.name: queue_depth(sqs, c.queue_url) for c in consumers}
        if not any(queued.values()):
            return True
        if time.monotonic() >= deadline:
            return False
        if echo is not None:
            echo("still queued: " + ", ".join(f"{name} {n}" for name, n in queued.items()))
        time.sleep(poll)


def consumer_states(session: AwsSession, consumers: list[DeployedConsumer]) -> list[ConsumerState]:
    """Observe each consumer: idempotency records, effect items, queue and DLQ depth, alarm."""
    sqs, dynamodb = session.client("sqs"), session.client("dynamodb")
    alarms = _dlq_alarm_states(session)

    def count(table: str | None) -> int:
        if table is None:
            return 0
        pages = dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT")
        return sum(int(page["Count"]) for page in pages)

    return [
        ConsumerState(
            consumer=c.name,
            idempotency_records=count(c.idempotency_table),
            effect_items=count(c.effect_table),
            still_queued=queue_depth(sqs, c.queue_url),
            in_dlq=queue_depth(sqs, c.dead_letter_queue_url) if c.dead_letter_queue_url else 0,
            dlq_alarm=alarms.get(c.dead_letter_queue_url.rsplit("/", 1)[-1], "-")
            if c.dead_letter_queue_url
            else "-",
        )
        for c in consumers
    ]


def _dlq_alarm_states(session: AwsSession) -> dict[str, str]:
    """DLQ name -> state of the alarm on its visible messages (CloudWatch evaluates it)."""
    states: dict[str, str] = {}
    paginator = session.client("cloudwatch").get_paginator("describe_alarms")
    for page in paginator.paginate(AlarmTypes=["MetricAlarm"]):
        for alarm in page["MetricAlarms"]:
            if alarm.get("MetricName") != "ApproximateNumberOfMessagesVisible":
                continue
            for dimension in alarm.get("Dimensions", []):
                if dimension["Name"] == "QueueName":
                    states[dimension["Value"]] = alarm["StateValue"]
    return states


@dataclass
class AwsDemoResult:
    """What was published, whether the queues drained in time, and each consumer's state."""

    account: str
    region: str
    published: Published
    republished: list[StreamEvent]
    drained: bool
    rows: list[ConsumerState]


def run_aws_demo(
    *,
    events: int = 40,
    wait: float = 1200,
    keep: bool = False,
    env: Mapping[str, str] | None = None,
    echo: Printer = print,
) -> AwsDemoResult:
    """Deploy to the credentials' account, publish, watch Lambda drain the queues, report.

    The stack is destroyed at the end, also when a step fails, unless ``keep``.
    """
    env = dict(os.environ if env is None else env)
    session = AwsSession(env)
    account, region = account_and_region(session)
    echo(f"[step] cdk bootstrap + cdk deploy {REFERENCE_STACK} to aws://{account}/{region}")
    assembly: Path | None = None
    try:
        assembly = deploy_to_account(env, account, region, echo=lambda line: echo(f"  {line}"))
        consumers = deployed_consumers(session)
        echo(
            f"[step] publish {events} {BUDGET_CHANGED} events to {REFERENCE_BUS}, "
            "20% of them twice, 1 poison event, 1 event no rule matches"
        )
        published, republished = publish_demo_events(session, events=events)
        echo(f"[step] Lambda runs the consumers; watching their queues for up to {wait:.0f} s")
        drained = wait_until_drained(
            session, consumers, timeout=wait, echo=lambda line: echo(f"  {line}")
        )
        rows = consumer_states(session, consumers)
        return AwsDemoResult(account, region, published, republished, drained, rows)
    finally:
        if assembly is not None and not keep:
            echo(f"[step] cdk destroy {REFERENCE_STACK}")
            destroy(env, assembly, echo=lambda line: echo(f"  {line}"))
