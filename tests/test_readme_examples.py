"""Every Python block of the README runs as written: the app, its snapshot test, the handler.

The blocks are laid out as the README says, in a project directory of their own: the app as
``app.py``, the handler as ``consumers/reporting.py`` (its first line names the file), the
snapshot test as ``tests/test_campaigns.py``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from syrupy.assertion import SnapshotAssertion

from tests.builders import REPO_ROOT

README = REPO_ROOT / "README.md"
FILE_NAME = re.compile(r"^# ([\w/]+\.py)\n")


def python_blocks() -> list[str]:
    """The README's Python code blocks, in order."""
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with every block written to the file it names (the first one: app.py)."""
    root = tmp_path_factory.mktemp("readme-project")
    for number, block in enumerate(python_blocks()):
        named = FILE_NAME.match(block)
        name = named.group(1) if named else "app.py"
        assert named or number == 0, f"README block {number + 1} does not name its file"
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block)
    return root


def test_the_readme_names_a_file_for_every_block_but_the_app() -> None:
    names = [FILE_NAME.match(block) for block in python_blocks()]
    assert names[0] is None
    assert [n.group(1) for n in names[1:] if n] == [
        "tests/test_campaigns.py",
        "consumers/reporting.py",
        "tests/integration/test_orders.py",  # needs a deployed app: examples/orders runs one
        "orders/events.py",
    ]


@pytest.fixture(scope="module")
def app_module(project: Path) -> Iterator[ModuleType]:
    """The README's app, imported as its snapshot test imports it (``from app import ...``)."""
    sys.path.insert(0, str(project))
    sys.modules.pop("app", None)  # not this repository's app.py
    try:
        yield importlib.import_module("app")
    finally:
        sys.path.remove(str(project))
        sys.modules.pop("app", None)


def test_the_app_synthesizes(project: Path, tmp_path: Path) -> None:
    """Run as `cdk synth` runs it: ``python app.py`` in the project directory."""
    env = {
        **os.environ,
        "CDK_OUTDIR": str(tmp_path),
        "PYTHONPATH": str(REPO_ROOT),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=project, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((tmp_path / "Campaigns.template.json").read_text())
    types = [r["Type"] for r in template["Resources"].values()]
    assert types.count("AWS::SQS::Queue") == 3  # queue, DLQ, undeliverable events
    assert "AWS::DynamoDB::Table" in types


def test_the_snapshot_tests_pass_as_written(
    project: Path, app_module: ModuleType, snapshot: SnapshotAssertion
) -> None:
    """The README's two test functions, called as pytest would (with this suite's snapshot)."""
    namespace = runpy.run_path(str(project / "tests" / "test_campaigns.py"))
    namespace["test_campaigns_stack"](snapshot)
    namespace["test_normalized_templates_compare_across_builds"]()


def test_the_handler_records_a_budget_once(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from event_fanout.runtime.testing import (
        FakeLambdaContext,
        make_eventbridge_event,
        reset_runtime_caches,
        sqs_event,
    )

    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "BUDGETS_TABLE_NAME": "budgets",
        "IDEMPOTENCY_TABLE_NAME": "idempotency",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(project / "consumers"))
    reset_runtime_caches()
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for table, key in (("budgets", "campaignId"), ("idempotency", "id")):
            dynamodb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        import reporting  # the README's handler module, as written

        detail: dict[str, Any] = {
            "companyId": 1,
            "profileId": 2,
            "campaignId": 7,
            "oldBudget": 10,
            "newBudget": 25,
            "version": 3,
        }
        event = make_eventbridge_event(detail=detail, detail_type="CampaignBudgetChanged")
        response = reporting.handler(sqs_event(event, event), FakeLambdaContext())
        items = dynamodb.scan(TableName="budgets")["Items"]
    reset_runtime_caches()
    sys.modules.pop("reporting", None)
    assert response == {"batchItemFailures": []}
    assert [(i["campaignId"]["S"], i["version"]["N"]) for i in items] == [("7", "3")]


def test_the_event_type_declares_and_publishes_as_written(project: Path) -> None:
    events = runpy.run_path(str(project / "orders" / "events.py"))
    order_placed = events["OrderPlaced"]
    assert order_placed.name == "shop.orders@OrderPlaced"
    entry = order_placed.entry({"orderId": "o-1", "amount": 12})
    assert json.loads(entry.detail) == {"orderId": "o-1", "amount": 12, "eventVersion": 1}
