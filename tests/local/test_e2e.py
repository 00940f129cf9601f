"""End to end on the emulator: the real CDK CLI deploys the reference stack, events flow.

One deploy for the module. Asserts exact routing per consumer (content and numeric filters),
one effect per unique event, the poison event in the right DLQs after max_receive_count, and a
redrive (StartMessageMoveTask) followed by successful processing once the handler is fixed.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from event_fanout.local.cdk_cli import CdkApp
from event_fanout.local.demo import DemoResult, drain, publish_demo_stream
from event_fanout.local.report import consumer_name, dead_letter_queue_url, queue_depth
from event_fanout.local.runner import DeployedMapping, EventSourceRunner, discover_mappings
from event_fanout.local.server import LocalAws, environment
from event_fanout.local.session import AwsSession, session_for
from event_fanout.stacks.reference import REFERENCE_STACK

pytestmark = pytest.mark.e2e

THRESHOLD = 1000
# One poller plays every mapping: short windows and no long polls keep it from idling.
FAST: dict[str, Any] = {"retry_delay": 0, "batching_window": 0.2, "receive_wait_seconds": 0}
FIXED_HANDLER = '''
"""ReportingSync, fixed: accepts the new string campaign ids."""
from decimal import Decimal
import os
import boto3
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from event_fanout.runtime import EventBridgeEvent, fanout_consumer


class BudgetChanged(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    campaign_id: int | str
    new_budget: Decimal
    version: int


@fanout_consumer(name="ReportingSync")
def handler(event: EventBridgeEvent[BudgetChanged]) -> None:
    boto3.resource("dynamodb").Table(os.environ["BUDGETS_TABLE_NAME"]).put_item(
        Item={"campaignId": str(event.detail.campaign_id), "budget": event.detail.new_budget,
              "version": event.detail.version, "eventId": event.id}
    )
'''


class Deployed:
    def __init__(self, aws: LocalAws, tmp: Path) -> None:
        self.aws = aws
        self.session: AwsSession = session_for(aws.environment)
        self.mappings = discover_mappings(self.session, REFERENCE_STACK, tmp / "functions")
        self.by_consumer = {consumer_name(m): m for m in self.mappings}
        self.tmp = tmp


@pytest.fixture(scope="module")
def deployed(
    local_aws: LocalAws,
    deploy_reference: Callable[[], CdkApp],
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployed:
    deploy_reference()
    return Deployed(local_aws, Path(tmp_path_factory.mktemp("e2e")))


@pytest.fixture(scope="module")
def run(deployed: Deployed) -> tuple[DemoResult, EventSourceRunner]:
    with environment(deployed.aws.environment):
        result = publish_demo_stream(deployed.session, deployed.mappings, events=30)
        runner = drain(deployed.session, deployed.mappings, log_dir=deployed.tmp / "logs", **FAST)
    return result, runner


def _bodies(runner: EventSourceRunner, mapping: DeployedMapping) -> set[str]:
    return runner.stats[mapping.uuid].message_ids


def _table(session: AwsSession, mapping: DeployedMapping, env: str) -> list[dict[str, Any]]:
    table = mapping.function.environment[env]
    items: list[dict[str, Any]] = []
    paginator = session.client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(TableName=table):
        items.extend(page["Items"])
    return items


def test_every_consumer_mapping_is_deployed(deployed: Deployed) -> None:
    assert sorted(deployed.by_consumer) == ["AuditLog", "Notification", "ReportingSync"]
    reporting = deployed.by_consumer["ReportingSync"]
    assert (reporting.batch_size, reporting.batching_window_seconds) == (10, 2)
    assert reporting.max_concurrency == 5
    assert reporting.partial_batch_responses
    assert reporting.function.timeout_seconds == 30


def test_routing_is_exact_per_consumer(deployed: Deployed, run: Any) -> None:
    result, runner = run
    details = result.published.details
    budget_ids = {i for i, e in details.items() if e.kind in ("normal", "poison")}
    over_threshold = {i for i in budget_ids if float(details[i].detail["newBudget"]) > THRESHOLD}
    expected = {
        "ReportingSync": budget_ids,  # every CampaignBudgetChanged from ads.campaigns
        "AuditLog": budget_ids,  # every event from ads.campaigns (not the ads.billing one)
        "Notification": over_threshold,  # numeric filter newBudget > 1000
    }
    assert 0 < len(over_threshold) < len(budget_ids)
    for consumer, ids in expected.items():
        mapping = deployed.by_consumer[consumer]
        routed = (
            runner.stats[mapping.uuid].distinct_messages - result.duplicate_copies[mapping.uuid]
        )
        assert routed == len(ids), consumer


def test_one_effect_per_unique_event(deployed: Deployed, run: Any) -> None:
    result, runner = run
    details = result.published.details
    normal = {i for i, e in details.items() if e.kind == "normal"}
    audit = _table(deployed.session, deployed.by_consumer["AuditLog"], "AUDIT_TABLE_NAME")
    poison = set(result.published.ids["poison"])
    assert sorted(item["eventId"]["S"] for item in audit) == sorted(normal | poison)
    notifications = _table(
        deployed.session, deployed.by_consumer["Notification"], "NOTIFICATIONS_TABLE_NAME"
    )
    expected = {i for i in normal if float(details[i].detail["newBudget"]) > THRESHOLD}
    assert sorted(item["eventId"]["S"] for item in notifications) == sorted(expected)
    for consumer, mapping in deployed.by_consumer.items():
        stats = runner.stats[mapping.uuid]
        assert stats.metrics["Duplicate"] == result.duplicate_copies[mapping.uuid], consumer


def test_poison_event_is_in_the_right_dead_letter_queues(deployed: Deployed, run: Any) -> None:
    _result, runner = run
    sqs = deployed.session.client("sqs")
    depth = {
        consumer: queue_depth(sqs, dead_letter_queue_url(deployed.session, mapping) or "")
        for consumer, mapping in deployed.by_consumer.items()
    }
    # The poison event's new campaign id format breaks the typed consumers, not the audit log.
    assert depth == {"ReportingSync": 1, "Notification": 1, "AuditLog": 0}
    reporting = deployed.by_consumer["ReportingSync"]
    assert runner.stats[reporting.uuid].metrics["Malformed"] == 5  # max_receive_count


def test_redrive_after_the_fix_processes_the_poison_event(deployed: Deployed, run: Any) -> None:
    result, _ = run
    session = deployed.session
    reporting = deployed.by_consumer["ReportingSync"]
    lambda_client = session.client("lambda")
    # Ship the fix the way a hotfix goes out: new code for the deployed function.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("reporting_sync.py", FIXED_HANDLER)
    s3 = session.client("s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("cdk-"))
    s3.put_object(Bucket=bucket, Key="reporting-sync-fix.zip", Body=buffer.getvalue())
    lambda_client.update_function_code(
        FunctionName=reporting.function.name, S3Bucket=bucket, S3Key="reporting-sync-fix.zip"
    )
    sqs = session.client("sqs")
    dlq_url = dead_letter_queue_url(session, reporting)
    assert dlq_url is not None
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sqs.start_message_move_task(SourceArn=dlq_arn)  # back to its source queue
    task = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert (task["Status"], task["ApproximateNumberOfMessagesMoved"]) == ("COMPLETED", 1)
    assert queue_depth(sqs, dlq_url) == 0

    with environment(deployed.aws.environment):
        mappings = discover_mappings(session, REFERENCE_STACK, deployed.tmp / "fixed")
        fixed = next(m for m in mappings if consumer_name(m) == "ReportingSync")
        runner = drain(session, [fixed], **FAST)
    assert runner.stats[fixed.uuid].metrics == pytest.approx(
        {
            "Processed": 1,
            "Duplicate": 0,
            "Failed": 0,
            "Malformed": 0,
            "PayloadMismatch": 0,
            "DeadLettered": 0,
        }
    )
    budgets = _table(session, reporting, "BUDGETS_TABLE_NAME")
    poison_id = result.published.ids["poison"][0]
    assert any(item["eventId"]["S"] == poison_id for item in budgets)
    assert queue_depth(sqs, dlq_url) == 0
    json.dumps(task)  # the task result is plain JSON, as the real API returns
