"""What makes two events the same key: composite keys with a null part, number spellings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from runtime_test_helpers import (
    BUSINESS_KEY,
    Recorder,
    budget_event,
    failed_ids,
    invoke,
    metric,
    stdout_json_lines,
)

from event_fanout.runtime import constants
from event_fanout.runtime.testing import sqs_record

KEY_FOUND_NO_VALUE = "Idempotency key path found no value"


@pytest.mark.parametrize(
    ("key_path", "null_part"),
    [
        ("[detail.campaignID, detail.version]", "part 1 of 2 (`detail.campaignID`)"),
        ("[detail.campaignId, detail.versoin]", "part 2 of 2 (`detail.versoin`)"),
        ("detail.[campaignID, version]", "part 1 of 2 (`campaignID`)"),
        (
            "{campaign: detail.campaignId, version: detail.versoin}",
            "part 2 of 2 (`version: detail.versoin`)",
        ),
    ],
    ids=["list-first-part", "list-second-part", "list-after-a-path", "hash"],
)
def test_fails_when_a_composite_key_has_a_null_part(
    consumer_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    key_path: str,
    null_part: str,
) -> None:
    # GIVEN a business key with one misspelled part: every event's key would be [null, 1]
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_KEY_PATH, key_path)
    recorder = Recorder()
    records = [
        sqs_record(budget_event(campaign, version=1), message_id=f"campaign-{campaign}")
        for campaign in range(1, 6)
    ]

    # WHEN five different campaigns arrive
    response = invoke(recorder, *records)

    # THEN none of them runs under a shared key: each fails, naming the null part
    assert failed_ids(response) == [f"campaign-{c}" for c in range(1, 6)]
    assert recorder.effects == []
    assert consumer_env.scan(TableName="consumer-idempotency")["Items"] == []
    logs, metrics = stdout_json_lines(capsys.readouterr().out)
    errors = [line for line in logs if line["message"].startswith(KEY_FOUND_NO_VALUE)]
    assert len(errors) == 5
    assert errors[0]["key_path"] == key_path
    assert null_part in errors[0]["reason"]
    assert (metric(metrics[-1], "Failed"), metric(metrics[-1], "Duplicate")) == (5, 0)


def test_composite_key_reports_every_null_part(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        constants.ENV_IDEMPOTENCY_KEY_PATH, "[detail.campaignID, detail.version, detail.tenant]"
    )

    response = invoke(Recorder(), sqs_record(budget_event(), message_id="m"))

    assert failed_ids(response) == ["m"]
    logs, _ = stdout_json_lines(capsys.readouterr().out)
    (error,) = [line for line in logs if line["message"].startswith(KEY_FOUND_NO_VALUE)]
    assert "part 1 of 3 (`detail.campaignID`)" in error["reason"]
    assert "part 3 of 3 (`detail.tenant`)" in error["reason"]
    assert "part 2 of 3" not in error["reason"]


def test_composite_key_with_every_part_present_runs_once_per_key(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        constants.ENV_IDEMPOTENCY_KEY_PATH,
        "{campaign: detail.campaignId, version: detail.version}",
    )
    recorder = Recorder()

    response = invoke(recorder, budget_event(1), budget_event(2), budget_event(1))

    assert failed_ids(response) == []
    assert sorted(c for _, c, _ in recorder.effects) == [1, 2]


def spelled(event: dict[str, Any], field: str, spelling: str, message_id: str) -> dict[str, Any]:
    """An SQS record whose body writes ``detail.<field>`` with the given JSON number spelling."""
    body = json.dumps(event)
    written = json.dumps(event["detail"][field])
    old = f'"{field}": {written}'
    assert body.count(old) == 1
    return sqs_record(body.replace(old, f'"{field}": {spelling}'), message_id=message_id)


@pytest.mark.parametrize(
    ("first", "second"), [("3", "3.0"), ("10", "1e1"), ("3.0", "3"), ("30", "3.0E1")]
)
def test_same_key_spelled_as_another_number_is_a_duplicate(
    consumer_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    first: str,
    second: str,
) -> None:
    # GIVEN the business key, and the same fact published twice with its version written
    # differently (a producer moved from one JSON library to another)
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_KEY_PATH, BUSINESS_KEY)
    recorder = Recorder()
    fact = budget_event(7, version=3)

    # WHEN both arrive, as different events
    invoke(recorder, spelled(fact, "version", first, "first"))
    republished = budget_event(7, version=3)
    response = invoke(recorder, spelled(republished, "version", second, "second"))

    # THEN the second is a duplicate of the first
    assert failed_ids(response) == []
    assert len(recorder.effects) == 1
    _, metrics = stdout_json_lines(capsys.readouterr().out)
    assert metric(metrics[-1], "Duplicate") == 1


def test_same_payload_spelled_with_other_numbers_is_not_a_payload_mismatch(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_KEY_PATH, BUSINESS_KEY)
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH, "detail")
    recorder = Recorder()
    fact = budget_event(7, version=3, detail={"newBudget": 78})

    invoke(recorder, spelled(fact, "newBudget", "78", "first"))
    response = invoke(recorder, spelled(fact, "newBudget", "78.0", "second"))

    assert failed_ids(response) == []
    assert len(recorder.effects) == 1
    _, metrics = stdout_json_lines(capsys.readouterr().out)
    assert metric(metrics[-1], "PayloadMismatch") == 0
    assert metric(metrics[-1], "Duplicate") == 1


def test_a_different_number_is_still_a_payload_mismatch(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_KEY_PATH, BUSINESS_KEY)
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH, "detail")
    recorder = Recorder()
    fact = budget_event(7, version=3, detail={"newBudget": 78})

    invoke(recorder, spelled(fact, "newBudget", "78", "first"))
    response = invoke(recorder, spelled(fact, "newBudget", "78.5", "second"))

    assert failed_ids(response) == ["second"]


def test_normalize_numbers_turns_integral_floats_into_ints_and_leaves_the_rest() -> None:
    from event_fanout.runtime.idempotency import normalize_numbers

    data = {"a": [1.0, 2.5, True, False, {"b": -0.0, "c": 1e20}], "d": "3.0", "e": None, "f": 7}

    normalized = normalize_numbers(data)

    assert normalized == {
        "a": [1, 2.5, True, False, {"b": 0, "c": 10**20}],
        "d": "3.0",
        "e": None,
        "f": 7,
    }
    assert [type(v) for v in normalized["a"][:4]] == [int, float, bool, bool]
    assert type(normalized["a"][4]["b"]) is int
    assert data["a"][0] == 1.0 and type(data["a"][0]) is float  # the input is not changed
    assert normalize_numbers(float("inf")) == float("inf")
