"""A FIFO group with a poison record: the poison record alone reaches the DLQ, the rest run once.

Deployed with the real CDK CLI into the emulator and played by the local runner: the runtime
moves the poison record to the DLQ on its last allowed receive (the function may send to its
own DLQ), so the healthy records queued behind it in its message group are processed exactly
once, in order, instead of being dead-lettered with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from event_fanout.local.cdk_cli import CdkApp, bootstrap
from event_fanout.local.demo import drain
from event_fanout.local.deploy import deploy
from event_fanout.local.runner import discover_mappings
from event_fanout.local.server import LocalAws
from event_fanout.local.session import session_for

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
STACK = "EventFanoutFifoPoison"
POISON_STEP = 3
STEPS = 6


def test_poison_record_is_dead_lettered_alone_and_its_group_runs_once_in_order(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    app = CdkApp(stack_name=STACK, app=f"python {HERE / 'fifo_app.py'}", output_dir=tmp_path)
    bootstrap(local_aws.environment, app)
    (stack,) = deploy(local_aws.environment, app)
    session = session_for(local_aws.environment)
    events_client = session.client("events")
    # One PutEvents per step: the order EventBridge hands them to the FIFO queue.
    for step in range(1, STEPS + 1):
        detail = {"step": step, "poison": step == POISON_STEP}
        response = events_client.put_events(
            Entries=[
                {
                    "EventBusName": "fifo-poison",
                    "Source": "fifo.poison",
                    "DetailType": "StepTaken",
                    "Detail": json.dumps(detail),
                }
            ]
        )
        assert response["FailedEntryCount"] == 0

    (mapping,) = discover_mappings(session, STACK, tmp_path / "code")
    drain(session, [mapping], retry_delay=0, receive_wait_seconds=0, timeout=120)

    table_name = next(v for k, v in stack.resources.items() if k.startswith("Effects"))
    items = session.client("dynamodb").scan(TableName=table_name)["Items"]
    ran = {
        int(item["effectKey"]["S"].split("#")[1]): (
            int(item["times"]["N"]),
            int(item["ranAt"]["N"]),
        )
        for item in items
        if item["effectKey"]["S"].startswith("step#")
    }
    healthy = [s for s in range(1, STEPS + 1) if s != POISON_STEP]
    assert sorted(ran) == healthy
    assert all(times == 1 for times, _ in ran.values()), ran
    assert [s for s, _ in sorted(ran.items(), key=lambda kv: kv[1][1])] == healthy  # in order

    sqs = session.client("sqs")
    dlq_url = next(
        v for k, v in stack.resources.items() if "DeadLetterQueue" in k and "Policy" not in k
    )
    dead = sqs.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    assert [json.loads(m["Body"])["detail"]["step"] for m in dead] == [POISON_STEP]
    assert "EventFanoutFailureReason" in dead[0]["MessageAttributes"]
