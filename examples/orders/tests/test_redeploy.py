"""A changed app is updated in place: the untouched consumers keep their messages and records.

Runs after the other tests of this directory (it changes the deployed app): a copy of the app
is changed as its developer would change it (Billing's batch size, DailyTotals removed, Fraud
added) and redeployed with ``event-fanout local deploy`` into the session's emulator, then
``event-fanout local run --concurrency 2`` plays every consumer, the one in the nested stack
included.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from event_fanout.cli import main
from event_fanout.local.report import consumer_name, dead_letter_queue_url
from event_fanout.local.server import LocalAws
from event_fanout.local.session import AwsSession
from event_fanout.testing.local_app import FanoutApp

APP_DIR = Path(__file__).resolve().parents[1]


def _depth(session: AwsSession, queue_url: str) -> int:
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _change(app_dir: Path) -> None:
    app = app_dir / "app.py"
    text = app.read_text()
    billing = "            max_receive_count=3,\n"
    assert billing in text and '"DailyTotals"' in text
    text = text.replace(billing, billing + "            batch_size=5,\n")
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
    fanout_app: FanoutApp,
    fanout_emulator: LocalAws,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the deployed app, emptied by the fixture (the bad order of the test before is gone),
    assert all(fanout_app.consumer(name).in_dlq == 0 for name in fanout_app.consumers)
    # with an order queued for every consumer and a handled key
    session = fanout_app.session
    before = {consumer_name(m): m for m in fanout_app.mappings}
    fanout_app.publish(
        source="shop.orders", detail_type="OrderPlaced", detail={"orderId": "o-1", "amount": 12}
    )
    billing_table = before["Billing"].function.environment["IDEMPOTENCY_TABLE_NAME"]
    key = {"id": {"S": "Billing#handled-before"}}
    session.client("dynamodb").put_item(TableName=billing_table, Item=key)
    assert _depth(session, before["Billing"].queue_url) == 1
    assert _depth(session, before["Audit"].queue_url) == 1  # Audit is in the nested stack

    # WHEN its developer changes it and runs `event-fanout local deploy` in its directory
    app_dir = tmp_path / "orders"
    shutil.copytree(APP_DIR, app_dir, ignore=shutil.ignore_patterns(".event-fanout", "tests"))
    _change(app_dir)
    monkeypatch.chdir(app_dir)
    (app_dir / ".event-fanout").mkdir()
    assert fanout_emulator.process is not None
    (app_dir / ".event-fanout" / "server.json").write_text(
        json.dumps({"port": fanout_emulator.port, "pid": fanout_emulator.process.pid})
    )
    deployed = CliRunner().invoke(main, ["local", "deploy"])
    assert deployed.exit_code == 0, deployed.output
    assert "OrdersCore/Orders: 3 consumers (Billing, Shipping, Audit)" in deployed.output
    assert "OrdersReporting/Reporting: 1 consumers (Fraud)" in deployed.output

    # THEN the untouched consumers kept their queues, queued orders and idempotency records
    lambda_client = session.client("lambda")
    after = {}
    for mapping in lambda_client.list_event_source_mappings()["EventSourceMappings"]:
        function = lambda_client.get_function_configuration(FunctionName=mapping["FunctionArn"])
        after[function["Environment"]["Variables"]["EVENT_FANOUT_CONSUMER"]] = mapping
    assert set(after) == {"Billing", "Shipping", "Audit", "Fraud"}  # DailyTotals removed
    for name in ("Billing", "Shipping", "Audit"):
        assert after[name]["EventSourceArn"] == before[name].queue_arn, name
        assert _depth(session, before[name].queue_url) == 1, name
    assert after["Billing"]["BatchSize"] == 5
    assert all(m["State"] == "Disabled" for m in after.values())  # the local runner plays them
    assert "Item" in session.client("dynamodb").get_item(TableName=billing_table, Key=key)
    dlq = dead_letter_queue_url(session, before["Billing"])
    assert dlq is not None and _depth(session, dlq) == 0

    # AND `event-fanout local run` plays every mapping, the nested stack's included, up to two
    # batches of each at once, each in an execution environment of its own
    fanout_app.publish(
        source="shop.orders", detail_type="OrderPlaced", detail={"orderId": "o-2", "amount": 7}
    )
    ran = CliRunner().invoke(
        main, ["local", "run", "--timeout", "60", "--retry-delay", "0", "--concurrency", "2"]
    )
    assert ran.exit_code == 0, ran.output
    assert ran.output.count("concurrency 2)") == len(after), ran.output
    logs = "\n".join(path.read_text() for path in (app_dir / ".event-fanout" / "logs").glob("*"))
    for line in ("billed o-1", "billed o-2", "shipping o-1", "audited OrderPlaced", "checked o-2"):
        assert line in logs, line
    for name in ("Billing", "Shipping", "Audit"):
        assert _depth(session, before[name].queue_url) == 0, name

    # AND `event-fanout status` finds every fan-out of the app's stacks from the deployed
    # templates alone, the consumer in the nested shard included, with what the run processed
    status = CliRunner().invoke(main, ["status", "--local", "--json"])
    assert status.exit_code == 0, status.output
    fanouts = {f["fanout"]: f for f in json.loads(status.output)}
    assert sorted(fanouts) == ["OrdersCore/Orders", "OrdersReporting/Reporting"]
    consumers = {c["consumer"]: c for f in fanouts.values() for c in f["consumers"]}
    assert sorted(consumers) == ["Audit", "Billing", "Fraud", "Shipping"]
    assert consumers["Billing"]["counts"]["processed"] >= 2  # o-1 (queued) and o-2
