"""The contract check: what passes, what fails and why, on apps as the constructs write them."""

from __future__ import annotations

import json
import subprocess
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from click.testing import CliRunner
from pydantic import BaseModel

from event_fanout import EventFanout
from event_fanout.events import EventType
from event_fanout.events.contracts import app_contracts, check_contracts, errors, lock_document
from event_fanout.operations.contract_check import assembly_templates, contract_findings
from event_fanout.testing.contracts import assert_event_contracts
from tests.builders import ENV, new_function

SOURCE, DETAIL_TYPE = "shop.orders", "OrderPlaced"


class Status(StrEnum):
    NEW = "new"
    PAID = "paid"
    SHIPPED = "shipped"


class OrderV1(BaseModel):
    order_id: str
    amount: int
    status: Status
    note: str | None = None


def order_type(model: type[BaseModel], version: int = 1) -> EventType[Any]:
    return EventType(source=SOURCE, detail_type=DETAIL_TYPE, version=version, detail=model)


def app_with(
    consumed: list[tuple[EventType[Any], list[int] | None]],
    published: list[EventType[Any]],
    *,
    external: bool = True,
) -> App:
    """A fan-out with a consumer per ``consumed`` entry and one producer of ``published``."""
    app = App()
    stack = Stack(app, "Orders", env=ENV)
    fanout = EventFanout(stack, "Fanout")
    for index, (event_type, versions) in enumerate(consumed):
        fanout.add_consumer(
            f"Consumer{index}",
            handler=new_function(stack, f"Fn{index}"),
            event_type=event_type,
            event_versions=versions,
        )
    if published:
        grantee = None if external else new_function(stack, "ProducerFn")
        fanout.add_producer("Checkout", event_types=published, grantee=grantee)
    return app


def templates_of(app: App) -> dict[str, dict[str, Any]]:
    return assembly_templates(Path(app.synth().directory))


def baseline_of(app: App) -> dict[str, Any]:
    return lock_document(app_contracts(templates_of(app)))


def check(app: App, baseline: dict[str, Any] | None) -> list[str]:
    return [str(f) for f in errors(check_contracts(app_contracts(templates_of(app)), baseline))]


@pytest.fixture(scope="module")
def v1_baseline() -> dict[str, Any]:
    v1 = order_type(OrderV1)
    return baseline_of(app_with([(v1, None)], [v1]))


def test_the_app_as_locked_holds(v1_baseline: dict[str, Any]) -> None:
    v1 = order_type(OrderV1)
    assert check(app_with([(v1, None)], [v1]), v1_baseline) == []
    (entry,) = v1_baseline["eventTypes"].values()
    assert entry["source"] == SOURCE and list(entry["versions"]) == ["1"]


def test_an_added_optional_field_is_compatible(v1_baseline: dict[str, Any]) -> None:
    class OrderWithCoupon(OrderV1):
        coupon: str | None = None

    v1 = order_type(OrderWithCoupon)
    app = app_with([(v1, None)], [v1])
    findings = check_contracts(app_contracts(templates_of(app)), v1_baseline)
    assert errors(findings) == []
    (change,) = [f for f in findings if f.level == "change"]
    assert "coupon" in change.message and "compatible" in change.message


class Removed(BaseModel):
    order_id: str
    status: Status
    note: str | None = None


class Renamed(BaseModel):
    order_id: str
    total: int
    status: Status
    note: str | None = None


class Retyped(BaseModel):
    order_id: str
    amount: str
    status: Status
    note: str | None = None


class NowRequired(BaseModel):
    order_id: str
    amount: int
    status: Status
    note: str


class NarrowedStatus(StrEnum):
    NEW = "new"
    PAID = "paid"


class Narrowed(BaseModel):
    order_id: str
    amount: int
    status: NarrowedStatus
    note: str | None = None


@pytest.mark.parametrize(
    ("model", "field", "what"),
    [
        (Removed, "amount", "removed"),
        (Renamed, "amount", "renamed to 'total'"),
        (Retyped, "amount", "type"),
        (NowRequired, "note", "required"),
        (Narrowed, "status", "shipped"),
    ],
)
def test_a_breaking_change_of_a_locked_version_fails_naming_the_field(
    v1_baseline: dict[str, Any], model: type[BaseModel], field: str, what: str
) -> None:
    v1 = order_type(model)
    (error,) = check(app_with([(v1, None)], [v1]), v1_baseline)
    assert f"{SOURCE}@{DETAIL_TYPE} v1" in error
    assert f"'{field}'" in error and what in error
    assert "Declare it as version 2" in error


def test_the_breaking_change_as_a_new_version_passes(v1_baseline: dict[str, Any]) -> None:
    # Producers publish v1 and v2 while consumers move; a consumer reads v2 only.
    v1, v2 = order_type(OrderV1), order_type(Renamed, version=2)
    app = app_with([(v1, None), (v2, [2])], [v1, v2])
    findings = check_contracts(app_contracts(templates_of(app)), v1_baseline)
    assert errors(findings) == []
    assert any(f.level == "change" and f.version == 2 for f in findings)


def test_a_version_a_consumer_accepts_must_be_published(v1_baseline: dict[str, Any]) -> None:
    v1, v2 = order_type(OrderV1), order_type(Renamed, version=2)
    (error,) = check(app_with([(v1, None)], [v2]), v1_baseline)
    assert "v1" in error and "no producer of the app publishes it" in error
    assert "Consumer0" in error
    # An external producer counts: it is declared, not granted.
    assert check(app_with([(v1, None)], [v1], external=True), v1_baseline) == []


def test_a_consumer_model_must_read_every_version_it_accepts(
    v1_baseline: dict[str, Any],
) -> None:
    v1, v2 = order_type(OrderV1), order_type(Renamed, version=2)
    (error,) = check(app_with([(v2, [1, 2])], [v1, v2]), v1_baseline)
    assert "v1" in error and "its model (version 2) cannot read it" in error and "amount" in error


def test_without_a_baseline_the_check_says_how_to_write_one() -> None:
    v1 = order_type(OrderV1)
    (error,) = check(app_with([(v1, None)], [v1]), None)
    assert "event-fanout contracts lock" in error


def test_samples_are_checked_against_the_consumers_they_route_to(
    v1_baseline: dict[str, Any],
) -> None:
    v1 = order_type(OrderV1)
    templates = templates_of(app_with([(v1, None)], [v1]))
    good = {"source": SOURCE, "detail-type": DETAIL_TYPE, "detail": v1_detail()}
    bad = {**good, "detail": {**v1_detail(), "amount": "twelve"}}
    unaccepted = {**good, "detail": {**v1_detail(), "eventVersion": 2}}
    findings = contract_findings(
        templates, v1_baseline, {"good.json": good, "bad.json": bad, "v2.json": unaccepted}
    )
    messages = [str(f) for f in errors(findings)]
    assert len(messages) == 2, messages
    assert any(
        "bad.json" in m and "amount: 'twelve' is not of type 'integer'" in m for m in messages
    )

    assert any("v2.json" in m and "accepts versions 1 only" in m for m in messages)


def v1_detail() -> dict[str, Any]:
    """A detail as the producer API publishes it (validated, version stamped)."""
    entry = order_type(OrderV1).entry({"order_id": "o-1", "amount": 12, "status": "new"})
    assert isinstance(entry.detail, str)
    detail: dict[str, Any] = json.loads(entry.detail)
    return detail


def test_the_pytest_helper_passes_and_fails_in_one_line(
    v1_baseline: dict[str, Any], tmp_path: Path
) -> None:
    lock = tmp_path / "event-contracts.json"
    lock.write_text(json.dumps(v1_baseline))
    v1 = order_type(OrderV1)
    assert_event_contracts(app_with([(v1, None)], [v1]), lock)
    broken = order_type(Removed)
    with pytest.raises(AssertionError, match=r"(?s)1 event contract error.*'amount' was removed"):
        assert_event_contracts(app_with([(broken, None)], [broken]), lock)


def test_the_command_locks_then_checks_against_a_git_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from event_fanout.cli import main

    # GIVEN an app directory under git, its cloud assembly synthesized, the baseline locked
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cdk.json").write_text("{}")
    v1 = order_type(OrderV1)
    assembly = Path(app_with([(v1, None)], [v1]).synth().directory)
    locked = CliRunner().invoke(main, ["contracts", "lock", "--assembly", str(assembly)])
    assert locked.exit_code == 0, locked.output
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "event-contracts.json"], check=True)
    subprocess.run([*git, "commit", "-qm", "lock"], check=True)

    # WHEN the branch changes the event and writes a new baseline over the committed one
    broken = order_type(Removed)
    changed = Path(app_with([(broken, None)], [broken]).synth().directory)
    relocked = CliRunner().invoke(main, ["contracts", "lock", "--assembly", str(changed)])
    assert relocked.exit_code == 0, relocked.output

    # THEN its own baseline passes, and the check against the committed one fails, exit 1
    own = CliRunner().invoke(main, ["contracts", "check", "--assembly", str(changed)])
    assert own.exit_code == 0, own.output
    against = CliRunner().invoke(
        main, ["contracts", "check", "--assembly", str(changed), "--against", "HEAD", "--json"]
    )
    assert against.exit_code == 1, against.output
    (finding,) = [f for f in json.loads(against.output) if f["level"] == "error"]
    assert finding["eventType"] == f"{SOURCE}@{DETAIL_TYPE}" and finding["version"] == 1
    assert {"path": "amount", "kind": "removed", "breaking": True} in finding["changes"]
