"""The real-AWS path of the demo, run against the emulator standing in for an account.

Everything the ``--aws`` demo does goes through boto3 and the CDK CLI, so the emulator can play
the account. The one thing it cannot play is Lambda: here the local runner consumes the queues
where Lambda would, after moto's own mappings are disabled (as the local deploy does).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from event_fanout.local.aws_demo import (
    account_and_region,
    consumer_states,
    deploy_to_account,
    deployed_consumers,
    destroy,
    publish_demo_events,
    wait_until_drained,
)
from event_fanout.local.cdk_cli import DeployError
from event_fanout.local.demo import drain
from event_fanout.local.deployed_stacks import (
    delete_stack,
    disable_event_source_mappings,
    stack_exists,
)
from event_fanout.local.runner import discover_mappings
from event_fanout.local.server import LocalAws, environment
from event_fanout.local.session import session_for
from event_fanout.stacks.reference import REFERENCE_STACK

pytestmark = pytest.mark.e2e

THRESHOLD = 1000


@pytest.mark.slow
def test_deploy_publish_observe_destroy(local_aws: LocalAws, tmp_path: Path) -> None:
    env = local_aws.environment
    session = session_for(env)
    delete_stack(session, REFERENCE_STACK)  # a fresh "account": no stack from other tests
    account, region = account_and_region(session)
    assert (account, region) == ("123456789012", "eu-west-1")

    # The same app.py template as the end-to-end deploy, which keeps CDK's template validation;
    # here it would only repeat it (~4 s). What this test covers is the `--aws` path's steps.
    assembly = deploy_to_account({**env, "CDK_VALIDATION": "false"}, account, region)
    disable_event_source_mappings(session, REFERENCE_STACK)
    consumers = deployed_consumers(session)
    assert [c.name for c in consumers] == ["AuditLog", "Notification", "ReportingSync"]
    assert all(c.dead_letter_queue_url and c.idempotency_table for c in consumers)

    published, again = publish_demo_events(session, events=20)
    assert not wait_until_drained(session, consumers, timeout=0)  # nothing consumed yet
    with environment(env):  # Lambda's part
        mappings = discover_mappings(session, REFERENCE_STACK, tmp_path)
        drain(session, mappings, retry_delay=0, batching_window=0.2, receive_wait_seconds=0)
    assert wait_until_drained(session, consumers, timeout=0)

    rows = {row.consumer: row for row in consumer_states(session, consumers)}
    normal = [published.details[i] for i in published.ids["normal"]]
    over = [e for e in normal + again if float(e.detail["newBudget"]) > THRESHOLD]
    # Republished events have new EventBridge ids: new to consumers keyed on the event id,
    # duplicates to ReportingSync, keyed on campaign id + version.
    assert rows["AuditLog"].idempotency_records == len(normal) + len(again) + 1  # + poison
    assert rows["AuditLog"].effect_items == len(normal) + len(again) + 1
    assert rows["Notification"].effect_items == len(over)
    assert rows["ReportingSync"].idempotency_records == len(normal)
    assert rows["ReportingSync"].effect_items == len({e.detail["campaignId"] for e in normal})
    assert {name: row.in_dlq for name, row in rows.items()} == {
        "AuditLog": 0,
        "Notification": 1,
        "ReportingSync": 1,
    }
    assert all(row.still_queued == 0 for row in rows.values())

    destroy(env, assembly)
    assert not stack_exists(session.client("cloudformation"), REFERENCE_STACK)


def test_missing_credentials_say_what_to_set(tmp_path: Path) -> None:
    env = {
        "AWS_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        ):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        with pytest.raises(DeployError, match=r"no usable AWS credentials .*set AWS_PROFILE"):
            account_and_region(session_for(env))
