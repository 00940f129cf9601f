"""Any CDK app on the emulator: deployed, changed, redeployed in place, its consumers run.

The app is ``examples/orders`` (outside the library: two stacks, four consumers, one in a
nested stack, one FIFO), copied so the test can change it as its developer would. The second
deploy and the run go through the ``event-fanout local`` commands, from the app's directory.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from event_fanout.cli import main
from event_fanout.local.deploy import deploy_project
from event_fanout.local.server import LocalAws
from event_fanout.local.session import AwsSession, session_for
from event_fanout.local.verification import VerifiedStack

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orders"
BILLING = "OrdersCore/Orders/Consumers/Billing"
AUDIT = "OrdersCore/Orders/ConsumersShard1/Audit"  # the consumer in the nested stack
DAILY_TOTALS = "OrdersReporting/Reporting/Consumers/DailyTotals"
FRAUD = "OrdersReporting/Reporting/Consumers/Fraud"


def _physical_ids(stacks: list[VerifiedStack]) -> dict[str, str]:
    """Construct path (``.../Queue``) -> physical id, across the stacks and nested stacks."""
    ids = {}
    for stack in stacks:
        template = json.loads(stack.template_path.read_text())
        for logical_id, resource in template["Resources"].items():
            path = resource.get("Metadata", {}).get("aws:cdk:path", "")
            if logical_id in stack.resources:
                ids[path.removesuffix("/Resource")] = stack.resources[logical_id]
    return ids


def _depth(session: AwsSession, queue_url: str) -> int:
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _publish(session: AwsSession, order_id: str) -> None:
    entry = {
        "EventBusName": "orders",
        "Source": "shop.orders",
        "DetailType": "OrderPlaced",
        "Detail": json.dumps({"orderId": order_id, "amount": 12}),
    }
    assert session.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def _change_the_app(app_dir: Path) -> None:
    """Billing's batch size, a consumer removed (DailyTotals), one added (Fraud)."""
    app = app_dir / "app.py"
    text = app.read_text()
    billing = 'handler=consumer_function("orders.billing"), event_pattern=ORDER_PLACED'
    assert billing in text and '"DailyTotals"' in text
    text = text.replace(billing, billing + ", batch_size=5")
    text = text.replace('"DailyTotals"', '"Fraud"').replace("orders.daily_totals", "orders.fraud")
    app.write_text(text)
    consumers = app_dir / "consumers" / "orders.py"
    consumers.write_text(
        consumers.read_text()
        + '\n\n@fanout_consumer(name="Fraud")\n'
        + "def fraud(event: EventBridgeEvent[Order]) -> None:\n"
        + '    print(f"checked {event.detail.orderId}")\n'
    )


def test_a_changed_app_is_updated_in_place_and_every_consumer_runs(
    local_aws: LocalAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the example app deployed, one order queued for each consumer, a handled key
    app_dir = tmp_path / "orders"
    shutil.copytree(EXAMPLE, app_dir, ignore=shutil.ignore_patterns(".event-fanout", "cdk.out"))
    env = local_aws.environment
    session = session_for(env)
    before = _physical_ids(deploy_project(env, app_dir))
    _publish(session, "o-1")
    billing_table = before[f"{BILLING}/IdempotencyTable/Table"]
    session.client("dynamodb").put_item(
        TableName=billing_table, Item={"id": {"S": "Billing#handled-before"}}
    )
    assert _depth(session, before[f"{BILLING}/Queue"]) == 1
    assert _depth(session, before[f"{AUDIT}/Queue"]) == 1

    # WHEN its developer changes it and runs `event-fanout local deploy` from its directory
    _change_the_app(app_dir)
    monkeypatch.chdir(app_dir)
    work = app_dir / ".event-fanout"
    (work / "server.json").write_text(
        json.dumps({"port": local_aws.port, "pid": local_aws.process.pid})  # type: ignore[union-attr]
    )
    deployed = CliRunner().invoke(main, ["local", "deploy"])
    assert deployed.exit_code == 0, deployed.output
    assert "OrdersCore/Orders: 3 consumers (Billing, Shipping, Audit)" in deployed.output
    assert "OrdersReporting/Reporting: 1 consumers (Fraud)" in deployed.output

    # THEN the untouched consumers kept their queues, queued orders and idempotency records
    from event_fanout.local.assembly import assembly_stacks
    from event_fanout.local.verification import verify_tree

    after = _physical_ids(
        [
            verified
            for stack in assembly_stacks(work / "cdk.out")
            for verified in verify_tree(session, stack.stack_name, stack.template_path)
        ]
    )
    for kept in (f"{BILLING}/Queue", f"{BILLING}/DeadLetterQueue", f"{AUDIT}/Queue"):
        assert after[kept] == before[kept]
    assert _depth(session, after[f"{BILLING}/Queue"]) == 1
    assert _depth(session, after[f"{AUDIT}/Queue"]) == 1
    item = session.client("dynamodb").get_item(
        TableName=billing_table, Key={"id": {"S": "Billing#handled-before"}}
    )
    assert "Item" in item
    # ... the removed consumer is gone, the new one exists, the changed one has its new batch
    assert f"{DAILY_TOTALS}/Queue" not in after and f"{FRAUD}/Queue" in after
    mappings: list[dict[str, Any]] = session.client("lambda").list_event_source_mappings()[
        "EventSourceMappings"
    ]
    by_queue = {m["EventSourceArn"].rsplit(":", 1)[-1]: m for m in mappings}
    billing_queue_name = after[f"{BILLING}/Queue"].rsplit("/", 1)[-1]
    assert by_queue[billing_queue_name]["BatchSize"] == 5
    assert all(m["State"] == "Disabled" for m in mappings)  # the local runner plays them

    # AND `local run` plays every mapping, the nested stack's included, until drained
    _publish(session, "o-2")
    ran = CliRunner().invoke(main, ["local", "run", "--until-drained", "--timeout", "60"])
    assert ran.exit_code == 0, ran.output
    logs = {path.name: path.read_text() for path in (work / "logs").glob("*")}
    everything = "\n".join(logs.values())
    for line in ("billed o-1", "billed o-2", "shipping o-1", "audited OrderPlaced", "checked o-2"):
        assert line in everything, (line, sorted(logs))
    for queue in (f"{BILLING}/Queue", f"{AUDIT}/Queue", f"{FRAUD}/Queue"):
        assert _depth(session, after[queue]) == 0
