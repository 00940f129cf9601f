"""Day-2 operations on a deployed fan-out: find it, read its state, peek and redrive its DLQs.

The reference stack is deployed into the emulator with the real CDK CLI; each test puts the
queues in the state it needs (messages in a DLQ, an alarm in ALARM) and runs the operations the
``event-fanout`` commands run, or the commands themselves.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from event_fanout.cli import main
from event_fanout.local.cdk_cli import CdkApp
from event_fanout.local.demo import drain
from event_fanout.local.report import consumer_name
from event_fanout.local.runner import EventSourceRunner, discover_mappings
from event_fanout.local.server import LocalAws, environment
from event_fanout.local.session import AwsSession, session_for
from event_fanout.operations.dead_letters import peek
from event_fanout.operations.discovery import Consumer, Fanout, discover, find_consumer
from event_fanout.operations.redrive import queue_depth
from event_fanout.operations.status import fanout_status
from event_fanout.producer import EventEntry, EventPublisher, correlation_id
from event_fanout.runtime.constants import DEAD_LETTER_REASON_ATTRIBUTE
from event_fanout.stacks.reference import (
    BUDGET_CHANGED,
    EVENT_SOURCE,
    REFERENCE_BUS,
    REFERENCE_STACK,
)
from event_fanout.testing.local_app import empty_queue

pytestmark = pytest.mark.e2e

CONSUMERS = ["AuditLog", "Notification", "ReportingSync"]


@pytest.fixture(scope="module")
def deployed_app(deploy_reference: Callable[[], CdkApp]) -> CdkApp:
    """The reference stack, deployed afresh for this module."""
    return deploy_reference()


@pytest.fixture(scope="module")
def fanout(local_aws: LocalAws, deployed_app: CdkApp) -> Fanout:
    (found,) = discover(session_for(local_aws.environment), [REFERENCE_STACK])
    return found


@pytest.fixture
def session(local_aws: LocalAws, fanout: Fanout) -> Iterator[AwsSession]:
    """The emulator's clients, with every queue of the fan-out empty before the test."""
    session = session_for(local_aws.environment)
    sqs = session.client("sqs")
    queues = [fanout.undeliverable_events_queue]
    queues += [q for c in fanout.consumers for q in (c.queue, c.dead_letter_queue)]
    for queue in queues:
        empty_queue(sqs, queue.url)
    yield session


def _event(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CampaignBudgetChanged",
        "source": "ads.campaigns",
        "account": "123456789012",
        "time": "2026-12-01T10:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


def _dead_letter(session: AwsSession, consumer: Consumer, count: int) -> list[str]:
    """Put ``count`` failed events in the consumer's DLQ, as the runtime leaves them."""
    ids = []
    sqs = session.client("sqs")
    for n in range(count):
        event = _event({"campaignId": n, "newBudget": 10})
        ids.append(event["id"])
        sqs.send_message(
            QueueUrl=consumer.dead_letter_queue.url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                DEAD_LETTER_REASON_ATTRIBUTE: {
                    "DataType": "String",
                    "StringValue": "ValueError: campaign id format",
                }
            },
        )
    return ids


def _drain_bodies(session: AwsSession, consumer: Consumer) -> list[dict[str, Any]]:
    """Every event in the consumer's queue, consumed (received and deleted)."""
    sqs = session.client("sqs")
    bodies = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=consumer.queue.url, MaxNumberOfMessages=10, VisibilityTimeout=60
        ).get("Messages", [])
        if not messages:
            return bodies
        bodies += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=consumer.queue.url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )


def _drain_ids(session: AwsSession, consumer: Consumer) -> list[str]:
    """The event ids of every message in the consumer's queue."""
    return [body["id"] for body in _drain_bodies(session, consumer)]


def test_discovery_finds_every_consumer_and_its_resources(
    local_aws: LocalAws, fanout: Fanout
) -> None:
    # GIVEN the reference stack deployed  WHEN its fan-out is discovered from the stack alone
    session = session_for(local_aws.environment)
    # THEN each consumer's queues, rule, function, table and alarms are the deployed ones
    assert [c.name for c in fanout.consumers] == CONSUMERS
    assert fanout.bus_name == "ads-campaigns" and fanout.archive_name
    names = {f["FunctionName"] for f in session.client("lambda").list_functions()["Functions"]}
    tables = set(session.client("dynamodb").list_tables()["TableNames"])
    alarms = {
        a["AlarmName"] for a in session.client("cloudwatch").describe_alarms()["MetricAlarms"]
    }
    rules = {
        r["Name"]
        for r in session.client("events").list_rules(EventBusName="ads-campaigns")["Rules"]
    }
    for consumer in fanout.consumers:
        assert consumer.function_name in names
        assert consumer.idempotency_table in tables
        assert consumer.rule_name in rules
        assert len(consumer.alarms) == 7 and set(consumer.alarms.values()) <= alarms
        assert queue_depth(session.client("sqs"), consumer.queue) == {"visible": 0, "in_flight": 0}
    assert find_consumer([fanout], "Notification")[1].name == "Notification"


def test_status_shows_the_consumer_in_trouble_first(session: AwsSession, fanout: Fanout) -> None:
    # GIVEN dead letters in ReportingSync's DLQ, and AuditLog's lag alarm in ALARM
    by_name = {c.name: c for c in fanout.consumers}
    _dead_letter(session, by_name["ReportingSync"], 2)
    session.client("cloudwatch").set_alarm_state(
        AlarmName=by_name["AuditLog"].alarms["oldest_message_age"],
        StateValue="ALARM",
        StateReason="test",
    )
    try:
        # WHEN the status is read
        (state,) = fanout_status(session, [fanout])
    finally:
        session.client("cloudwatch").set_alarm_state(
            AlarmName=by_name["AuditLog"].alarms["oldest_message_age"],
            StateValue="OK",
            StateReason="test",
        )
    # THEN the alarming consumer is first, then the one with dead letters
    assert [c.consumer for c in state.consumers] == ["AuditLog", "ReportingSync", "Notification"]
    assert state.consumers[0].alarming == ["oldest_message_age"]
    assert state.consumers[1].dead_letter_depth == 2
    assert state.undeliverable_events == 0


def test_status_command_prints_json_for_scripts(
    local_aws: LocalAws, session: AwsSession, fanout: Fanout
) -> None:
    _dead_letter(session, fanout.consumers[1], 1)
    result = CliRunner().invoke(
        main, ["status", "--stack", REFERENCE_STACK, "--json"], env=local_aws.environment
    )
    assert result.exit_code == 0, result.output
    (state,) = json.loads(result.output)
    depths = {c["consumer"]: c["dead_letter_depth"] for c in state["consumers"]}
    assert depths == {"AuditLog": 0, "Notification": 1, "ReportingSync": 0}


def test_dlq_peek_shows_the_failures_and_leaves_them_in_place(
    local_aws: LocalAws, session: AwsSession, fanout: Fanout
) -> None:
    # GIVEN three failed events in Notification's DLQ
    consumer = fanout.consumers[1]
    ids = _dead_letter(session, consumer, 3)
    # WHEN the DLQ is peeked, through the API and the command
    letters = peek(session.client("sqs"), consumer.dead_letter_queue.url, limit=10)
    result = CliRunner().invoke(
        main,
        ["dlq", "peek", "Notification", "--stack", REFERENCE_STACK, "--json"],
        env=local_aws.environment,
    )
    # THEN each shows its event, why it failed and a detail excerpt, and all three are still
    # there, visible
    assert sorted(letter.event_id or "" for letter in letters) == sorted(ids)
    assert {letter.reason for letter in letters} == {"ValueError: campaign id format"}
    assert all(letter.source == "ads.campaigns" for letter in letters)
    assert all('"campaignId"' in letter.excerpt for letter in letters)
    assert result.exit_code == 0, result.output
    assert sorted(item["event_id"] for item in json.loads(result.output)) == sorted(ids)
    sqs = session.client("sqs")
    assert queue_depth(sqs, consumer.dead_letter_queue) == {"visible": 3, "in_flight": 0}


def test_redrive_moves_the_dead_letters_back_with_sqs_move_task(
    local_aws: LocalAws, session: AwsSession, fanout: Fanout
) -> None:
    consumer = fanout.consumers[2]
    ids = _dead_letter(session, consumer, 4)
    dry = CliRunner().invoke(
        main,
        ["redrive", consumer.name, "--stack", REFERENCE_STACK, "--dry-run"],
        env=local_aws.environment,
    )
    assert dry.exit_code == 0 and "4 message(s) would move" in dry.output, dry.output
    result = CliRunner().invoke(
        main,
        ["redrive", consumer.name, "--stack", REFERENCE_STACK, "--json"],
        env=local_aws.environment,
    )
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.output)
    assert (outcome["method"], outcome["moved"], outcome["status"]) == ("move-task", 4, "COMPLETED")
    assert sorted(_drain_ids(session, consumer)) == sorted(ids)
    sqs = session.client("sqs")
    assert queue_depth(sqs, consumer.dead_letter_queue) == {"visible": 0, "in_flight": 0}


def test_an_interrupted_copy_redrive_loses_nothing_and_a_rerun_finishes_it(
    local_aws: LocalAws, session: AwsSession, fanout: Fanout
) -> None:
    # GIVEN 40 dead letters and a copy redrive held to 10 messages a second
    consumer = fanout.consumers[0]
    ids = _dead_letter(session, consumer, 40)
    sqs = session.client("sqs")
    command = [
        sys.executable,
        "-m",
        "event_fanout.cli",
        "redrive",
        consumer.name,
        "--stack",
        REFERENCE_STACK,
        "--method",
        "copy",
        "--max-per-second",
        "10",
        "--visibility-timeout",
        "2",
        "--json",
    ]
    env = {**os.environ, **local_aws.environment}
    # WHEN the redrive process is killed once part of the DLQ has moved
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while queue_depth(sqs, consumer.dead_letter_queue)["visible"] > 25:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    moved_before = sqs.get_queue_attributes(
        QueueUrl=consumer.queue.url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    # THEN every event is in the DLQ or the queue (the batch in flight comes back to the DLQ)
    left = queue_depth(sqs, consumer.dead_letter_queue)
    assert 0 < int(moved_before) < 40
    assert int(moved_before) + left["visible"] + left["in_flight"] >= 40
    # AND a second run finishes the move: every event in the queue, none left behind
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["method"] == "copy"
    arrived = _drain_ids(session, consumer)
    assert set(arrived) == set(ids)
    assert len(arrived) - len(ids) <= 10  # at most the batch in flight at the kill, twice
    assert queue_depth(sqs, consumer.dead_letter_queue) == {"visible": 0, "in_flight": 0}


def test_undeliverable_events_go_back_to_the_queue_eventbridge_failed_to_reach(
    local_aws: LocalAws, session: AwsSession, fanout: Fanout
) -> None:
    # GIVEN two events EventBridge could not deliver to Notification's queue, one to a target
    # that is not a consumer of this fan-out
    consumer = fanout.consumers[1]
    sqs = session.client("sqs")
    events = [_event({"campaignId": n}) for n in range(3)]
    for event, target in zip(
        events,
        [consumer.queue.arn, consumer.queue.arn, "arn:aws:sqs:eu-west-1:1:other"],
        strict=True,
    ):
        sqs.send_message(
            QueueUrl=fanout.undeliverable_events_queue.url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                "ERROR_CODE": {"DataType": "String", "StringValue": "SQS.AccessDenied"},
                "TARGET_ARN": {"DataType": "String", "StringValue": target},
            },
        )
    # WHEN the fan-out's undeliverable events are redriven
    result = CliRunner().invoke(
        main,
        ["redrive", "--undeliverable", fanout.path, "--stack", REFERENCE_STACK, "--json"],
        env=local_aws.environment,
    )
    # THEN the two reach Notification's queue, the third stays, counted as skipped
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["skipped"] == 1
    assert sorted(_drain_ids(session, consumer)) == sorted(e["id"] for e in events[:2])
    assert queue_depth(sqs, fanout.undeliverable_events_queue)["visible"] == 1


def test_replay_sends_the_windows_events_to_one_consumer_under_their_own_ids(
    local_aws: LocalAws, session: AwsSession, fanout: Fanout
) -> None:
    # GIVEN budget changes on the bus two hours ago and ten minutes ago (archived, delivered,
    # and consumed since: every queue is empty again)
    events = session.client("events")
    now = datetime.now(UTC)
    published: dict[str, list[str]] = {"old": [], "recent": []}
    for age, count in (("old", 2), ("recent", 3)):
        at = now - (timedelta(hours=2) if age == "old" else timedelta(minutes=10))
        response = events.put_events(
            Entries=[
                {
                    "EventBusName": "ads-campaigns",
                    "Source": "ads.campaigns",
                    "DetailType": "CampaignBudgetChanged",
                    "Time": at,
                    "Detail": json.dumps(
                        {
                            "companyId": 1,
                            "profileId": 2,
                            "campaignId": 100 + n,
                            "oldBudget": 10,
                            "newBudget": 5000,
                            "version": 1,
                        }
                    ),
                }
                for n in range(count)
            ]
        )
        published[age] = [entry["EventId"] for entry in response["Entries"]]
    sqs = session.client("sqs")
    for consumer in fanout.consumers:
        empty_queue(sqs, consumer.queue.url)

    # WHEN the last half hour is replayed to ReportingSync
    result = CliRunner().invoke(
        main,
        ["replay", "ReportingSync", "--stack", REFERENCE_STACK, "--from", "-30m", "--json"],
        env=local_aws.environment,
    )

    # THEN only ReportingSync's queue gets them, only the recent ones, with their own ids and
    # the replay's name (which the runtime keys on only for a reprocessing replay)
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.output)
    assert outcome["state"] == "COMPLETED" and outcome["name"].startswith("replay-ReportingSync-")
    by_name = {c.name: c for c in fanout.consumers}
    bodies = _drain_bodies(session, by_name["ReportingSync"])
    assert sorted(b["id"] for b in bodies) == sorted(published["recent"])
    assert {b["replay-name"] for b in bodies} == {outcome["name"]}
    for other in ("AuditLog", "Notification"):
        assert _drain_bodies(session, by_name[other]) == [], other
    reprocess = CliRunner().invoke(
        main,
        [
            "replay",
            "ReportingSync",
            "--stack",
            REFERENCE_STACK,
            "--from",
            "-30m",
            "--reprocess",
            "--json",
        ],
        env=local_aws.environment,
    )
    assert json.loads(reprocess.output)["name"].startswith("reprocess-ReportingSync-")
    assert len(_drain_bodies(session, by_name["ReportingSync"])) == 3


def test_route_names_the_matching_consumers_and_the_field_that_stops_the_others(
    local_aws: LocalAws, fanout: Fanout, tmp_path: Path
) -> None:
    # GIVEN a budget change under Notification's threshold, as a PutEvents entry
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "Source": "ads.campaigns",
                "DetailType": "CampaignBudgetChanged",
                "Detail": json.dumps({"campaignId": 7, "newBudget": 500, "version": 1}),
            }
        )
    )
    # WHEN it is routed against the deployed stack's rules
    result = CliRunner().invoke(
        main, ["route", str(event), "--stack", REFERENCE_STACK, "--json"], env=local_aws.environment
    )
    # THEN the consumers are named as the fan-out names them, each with its verdict
    assert result.exit_code == 0, result.output
    verdicts = {
        r["consumer"]: (r["matched"], r["mismatched_field"]) for r in json.loads(result.output)
    }
    assert verdicts == {
        "AuditLog": (True, None),
        "Notification": (False, "detail.newBudget"),
        "ReportingSync": (True, None),
    }


def test_publish_sends_an_ndjson_file_to_the_fanouts_bus_with_one_correlation_id(
    local_aws: LocalAws, session: AwsSession, fanout: Fanout, tmp_path: Path
) -> None:
    # GIVEN two events, one as a PutEvents entry and one as EventBridge delivers events
    lines = [
        {
            "Source": "ads.campaigns",
            "DetailType": "CampaignBudgetChanged",
            "Detail": {"campaignId": 1, "newBudget": 50, "version": 1},
        },
        {
            "source": "ads.campaigns",
            "detail-type": "CampaignBudgetChanged",
            "detail": {"campaignId": 2, "newBudget": 60, "version": 1},
        },
    ]
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    # WHEN they are published without naming a bus
    result = CliRunner().invoke(
        main,
        ["publish", str(path), "--stack", REFERENCE_STACK, "--correlation-id", "c-42", "--json"],
        env=local_aws.environment,
    )
    # THEN both reach the fan-out's bus (AuditLog takes every budget change), stamped
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["accepted"], summary["failed"], summary["correlation_id"]) == (2, 0, "c-42")
    bodies = _drain_bodies(session, {c.name: c for c in fanout.consumers}["AuditLog"])
    assert sorted(b["id"] for b in bodies) == sorted(summary["event_ids"])
    assert {b["detail"]["correlationId"] for b in bodies} == {"c-42"}


def test_status_counts_what_the_local_runner_processed(
    local_aws: LocalAws, session: AwsSession, fanout: Fanout, tmp_path: Path
) -> None:
    # GIVEN two budget changes consumed by AuditLog's function on the local runner, which puts
    # the runtime's metrics into the emulator's CloudWatch as CloudWatch Logs does in AWS
    session.client("events").put_events(
        Entries=[
            {
                "EventBusName": "ads-campaigns",
                "Source": "ads.campaigns",
                "DetailType": "CampaignBudgetChanged",
                "Detail": json.dumps(
                    {
                        "companyId": 1,
                        "profileId": 2,
                        "campaignId": 300 + n,
                        "oldBudget": 1,
                        "newBudget": 2,
                        "version": 1,
                    }
                ),
            }
            for n in range(2)
        ]
    )
    audit = {c.name: c for c in fanout.consumers}["AuditLog"]
    mappings = [
        m
        for m in discover_mappings(session, REFERENCE_STACK, tmp_path)
        if m.queue_name == audit.queue.name
    ]
    assert len(mappings) == 1
    with environment(local_aws.environment):
        EventSourceRunner(
            session, mappings, retry_delay=0, receive_wait_seconds=0, metrics_to_cloudwatch=True
        ).run_until_drained(timeout=60)
    # WHEN the status is read  THEN it shows AuditLog's two processed events
    (state,) = fanout_status(session, [fanout])
    counts = {c.consumer: c.counts for c in state.consumers}
    assert counts["AuditLog"]["processed"] == 2
    assert counts["AuditLog"]["failed"] in (None, 0)


def test_diagram_draws_the_deployed_stack(local_aws: LocalAws, fanout: Fanout) -> None:
    result = CliRunner().invoke(
        main, ["diagram", "--stack", REFERENCE_STACK], env=local_aws.environment
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("flowchart LR\n")
    for consumer in CONSUMERS:
        assert f"f0_bus --> f0_{consumer}_rule" in result.output


def _log_lines(log: Path) -> list[dict[str, Any]]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line) for line in lines if line.startswith("{") and '"_aws"' not in line]


def test_one_correlation_id_reaches_every_consumers_log_lines(
    local_aws: LocalAws, session: AwsSession, fanout: Fanout, tmp_path: Path
) -> None:
    # GIVEN an event published through the producer API inside a correlation id's block
    publisher = EventPublisher(session.client("events"), event_bus_name=REFERENCE_BUS)
    detail = {
        "companyId": 10,
        "profileId": 101,
        "campaignId": 7,
        "oldBudget": 900,
        "newBudget": 1500,  # over the Notification consumer's threshold: all three receive it
        "version": 1,
    }
    with correlation_id(f"checkout-{uuid.uuid4()}") as cid:
        result = publisher.publish([EventEntry(EVENT_SOURCE, BUDGET_CHANGED, detail)])
    (event_id,) = result.raise_for_failures().event_ids
    assert result.correlation_id == cid

    # WHEN every consumer runs on the local runner
    logs = tmp_path / "logs"
    mappings = discover_mappings(session, REFERENCE_STACK, tmp_path)
    with environment(local_aws.environment):
        runner = drain(
            session,
            mappings,
            log_dir=logs,
            retry_delay=0,
            batching_window=0.2,
            receive_wait_seconds=0,
        )

    seen: dict[str, list[dict[str, Any]]] = {}
    # THEN each consumer's own line and the runtime's carry the producer's id
    for mapping in mappings:
        assert runner.stats[mapping.uuid].distinct_messages == 1, consumer_name(mapping)
        lines = _log_lines(logs / f"{mapping.function.name}.log")
        seen[consumer_name(mapping)] = [line for line in lines if line.get("event_id") == event_id]
    assert sorted(seen) == ["AuditLog", "Notification", "ReportingSync"]
    for consumer, lines in seen.items():
        messages = [line["message"] for line in lines]
        # The consumer's own line and the runtime's: both carry the producer's id.
        assert "Event processed" in messages and len(messages) >= 2, (consumer, messages)
        assert {line["correlation_id"] for line in lines} == {cid}, consumer


def test_local_run_writes_a_report_a_browser_shows(
    local_aws: LocalAws,
    deployed_app: CdkApp,
    session: AwsSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the deployed stack seen as its app directory sees it after `local deploy` (its
    # cloud assembly and the emulator's record in .event-fanout/), and budget changes queued
    work = tmp_path / "app" / ".event-fanout"
    work.mkdir(parents=True)
    (work / "cdk.out").symlink_to(deployed_app.assembly_dir, target_is_directory=True)
    assert local_aws.process is not None
    (work / "server.json").write_text(
        json.dumps({"port": local_aws.port, "pid": local_aws.process.pid})
    )
    monkeypatch.chdir(tmp_path / "app")
    publisher = EventPublisher(session.client("events"), event_bus_name=REFERENCE_BUS)
    base = uuid.uuid4().int % 10**9  # campaigns no other test of this deployment handled
    details = [
        {"companyId": 1, "profileId": 2, "campaignId": base + n, "oldBudget": 1, "newBudget": 2000}
        | {"version": 1}
        for n in range(12)
    ]
    publisher.publish([EventEntry(EVENT_SOURCE, BUDGET_CHANGED, d) for d in details])

    # WHEN its developer runs every consumer with a report
    report = tmp_path / "run.html"
    ran = CliRunner().invoke(
        main, ["local", "run", "--retry-delay", "0", "--timeout", "60", "--report", str(report)]
    )

    # THEN the page opens without a console error, with one chart per consumer, each chart's
    # records line ending at what the consumer processed
    assert ran.exit_code == 0, ran.output
    assert f"report: {report}" in ran.output.replace("\n", "")
    from tests.browser import opened_page

    with opened_page(report) as opened:
        opened.page.screenshot(path=str(tmp_path / "run.png"), full_page=True)
        assert opened.console_errors == []
        charts = opened.page.locator("figure.consumer-chart")
        names = [charts.nth(i).get_attribute("data-consumer") for i in range(charts.count())]
        assert sorted(names) == CONSUMERS
        for index in range(charts.count()):
            traces = (
                charts.nth(index)
                .locator(".js-plotly-plot")
                .evaluate(
                    "div => Object.fromEntries(div.data.map(t => [t.name, t.y[t.y.length - 1]]))"
                )
            )
            assert (traces["processed"], traces["visible"]) == (12, 0), names[index]
        assert opened.page.locator("svg.topology g.node.rule").count() == len(CONSUMERS)


def test_the_event_types_schema_registry_is_deployed(
    local_aws: LocalAws, fanout: Fanout, session: AwsSession
) -> None:
    # The emulator records registries and schemas (moto fix eventschemas_registry): the stack
    # holds them, named as the schema registry names them, and deploy verification saw them.
    resources = session.client("cloudformation").list_stack_resources(StackName=REFERENCE_STACK)
    deployed = {
        r["ResourceType"]: r["PhysicalResourceId"]
        for r in resources["StackResourceSummaries"]
        if r["ResourceType"].startswith("AWS::EventSchemas::")
    }
    region = local_aws.environment["AWS_DEFAULT_REGION"]
    assert deployed["AWS::EventSchemas::Registry"] == (
        f"arn:aws:schemas:{region}:123456789012:registry/{fanout.name}"
    )
    assert deployed["AWS::EventSchemas::Schema"].endswith(
        f"schema/{fanout.name}/ads.campaigns@CampaignBudgetChanged"
    )


def test_an_event_of_a_version_a_consumer_does_not_accept_ends_in_its_dlq_with_the_reason(
    local_aws: LocalAws, session: AwsSession, fanout: Fanout, tmp_path: Path
) -> None:
    # GIVEN a producer already on version 2 of BudgetChanged, while the consumers read v1
    from event_fanout.stacks.handlers.budget_events import BudgetChanged

    detail = {"companyId": 1, "profileId": 2, "campaignId": uuid.uuid4().int % 10**9}
    detail |= {"oldBudget": 1, "newBudget": 5000, "version": 1, "eventVersion": 2}
    publisher = EventPublisher(session.client("events"), event_bus_name=REFERENCE_BUS)
    result = publisher.publish(
        [EventEntry(BudgetChanged.source, BudgetChanged.detail_type, detail)]
    )
    (event_id,) = result.raise_for_failures().event_ids

    # WHEN every consumer runs until its queue is empty
    logs = tmp_path / "logs"
    mappings = discover_mappings(session, REFERENCE_STACK, tmp_path)
    with environment(local_aws.environment):
        drain(session, mappings, log_dir=logs, retry_delay=0, batching_window=0.2)

    # THEN the two consumers of BudgetChanged v1 dead-lettered it, with the reason in their
    # log lines, and the audit log (no event type: any event) recorded it
    sqs = session.client("sqs")
    for name in ("ReportingSync", "Notification"):
        _, consumer = find_consumer([fanout], name)
        (body,) = _drain_dead_letters(sqs, consumer)
        assert body["id"] == event_id, consumer.name
        function = next(m for m in mappings if consumer_name(m) == consumer.name).function
        reasons = [
            line.get("reason", "")
            for line in _log_lines(logs / f"{function.name}.log")
            if line.get("message_id") and "Malformed" in line["message"]
        ]
        assert reasons and all(
            "ads.campaigns@CampaignBudgetChanged version 2 is not one this consumer accepts (1)"
            in reason
            for reason in reasons
        ), (consumer.name, reasons)
    _, audit = find_consumer([fanout], "AuditLog")
    assert sum(queue_depth(sqs, audit.dead_letter_queue).values()) == 0


def _drain_dead_letters(sqs: Any, consumer: Consumer) -> list[dict[str, Any]]:
    messages = sqs.receive_message(
        QueueUrl=consumer.dead_letter_queue.url, MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", [])
    for message in messages:
        sqs.delete_message(
            QueueUrl=consumer.dead_letter_queue.url, ReceiptHandle=message["ReceiptHandle"]
        )
    return [json.loads(m["Body"]) for m in messages]
