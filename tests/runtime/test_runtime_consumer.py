"""The consumer runtime called as Lambda calls it, against DynamoDB in moto."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from runtime_test_helpers import (
    BUSINESS_KEY,
    BudgetChanged,
    Recorder,
    budget_event,
    failed_ids,
    invoke,
    metric,
    stdout_json_lines,
)

from event_fanout.runtime import (
    ConsumerSettings,
    EventBridgeEvent,
    RuntimeConfigError,
    constants,
    fanout_consumer,
    logger,
)
from event_fanout.runtime.idempotency import _built_runner
from event_fanout.runtime.testing import FakeLambdaContext, sqs_event, sqs_record


def test_same_event_twice_in_one_batch_has_one_effect(consumer_env: Any) -> None:
    recorder = Recorder()
    event = budget_event()

    response = invoke(recorder, event, event)

    assert response == {"batchItemFailures": []}
    assert recorder.effects == [(event["id"], 123456789, 1)]


def test_same_event_redelivered_as_a_new_sqs_message_has_one_effect(consumer_env: Any) -> None:
    recorder = Recorder()
    event = budget_event()

    invoke(recorder, sqs_record(event, message_id="first-delivery"))
    response = invoke(recorder, sqs_record(event, message_id="second-delivery", receive_count=1))

    assert failed_ids(response) == []
    assert len(recorder.effects) == 1


def test_business_key_same_campaign_two_versions_two_effects(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_KEY_PATH, BUSINESS_KEY)
    recorder = Recorder()

    invoke(recorder, budget_event(version=1), budget_event(version=2))
    # A re-publish of version 2 is a new EventBridge event (new id) with the same business key.
    invoke(recorder, budget_event(version=2))

    assert sorted((c, v) for _, c, v in recorder.effects) == [(123456789, 1), (123456789, 2)]


def test_handler_exception_fails_only_its_record_and_releases_its_key(consumer_env: Any) -> None:
    recorder = Recorder()
    recorder.fail_campaigns = {2}
    ok_before, failing, ok_after = budget_event(1), budget_event(2), budget_event(3)
    batch = sqs_event(ok_before, failing, ok_after)
    failing_message = batch["Records"][1]["messageId"]

    response = recorder.handler(batch, FakeLambdaContext())

    assert failed_ids(dict(response)) == [failing_message]
    assert sorted(c for _, c, _ in recorder.effects) == [1, 3]

    # The redelivery succeeds once the downstream recovers: the failed run left no record behind.
    recorder.fail_campaigns = set()
    assert failed_ids(invoke(recorder, failing)) == []
    assert sorted(c for _, c, _ in recorder.effects) == [1, 2, 3]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("this is not json", "body is not JSON"),
        (json.dumps({k: v for k, v in budget_event().items() if k != "detail"}), "detail"),
        (json.dumps([1, 2]), "JSON list"),
        (json.dumps(budget_event(detail={"campaignId": "not-a-number"})), "detail.campaignId"),
    ],
    ids=["not-json", "no-detail", "not-an-object", "detail-does-not-fit-model"],
)
def test_malformed_body_is_reported_failed_and_rest_of_batch_is_processed(
    consumer_env: Any, capsys: pytest.CaptureFixture[str], body: str, reason: str
) -> None:
    recorder = Recorder()
    good = budget_event(7)
    batch = sqs_event(good, sqs_record(body, message_id="poison"), budget_event(8))

    response = recorder.handler(batch, FakeLambdaContext())

    assert failed_ids(dict(response)) == ["poison"]
    assert sorted(c for _, c, _ in recorder.effects) == [7, 8]
    logs, metrics = stdout_json_lines(capsys.readouterr().out)
    malformed = [line for line in logs if line["message"].startswith("Malformed record")]
    assert len(malformed) == 1
    assert malformed[0]["message_id"] == "poison"
    assert malformed[0]["level"] == "ERROR"
    assert reason in malformed[0]["reason"]
    assert metric(metrics[-1], "Malformed") == 1
    assert metric(metrics[-1], "Failed") == 1
    assert metric(metrics[-1], "Processed") == 2


def test_every_record_failing_is_reported_not_raised(consumer_env: Any) -> None:
    recorder = Recorder()
    batch = sqs_event("x", "y")

    response = recorder.handler(batch, FakeLambdaContext())

    assert sorted(failed_ids(dict(response))) == sorted(r["messageId"] for r in batch["Records"])


def test_record_left_in_progress_by_a_crash_is_retried_after_in_progress_expiry(
    consumer_env: Any,
) -> None:
    crashed = True
    effects: list[str] = []

    @fanout_consumer
    def handler(event: EventBridgeEvent[BudgetChanged]) -> None:
        if crashed:
            # What a timeout or an out-of-memory kill looks like from the table's point of view:
            # the process stops between claiming the key and recording the result.
            raise SystemExit("execution environment killed")
        effects.append(event.id)

    event = budget_event()
    with pytest.raises(SystemExit):
        handler(sqs_event(event), FakeLambdaContext(remaining_time_ms=60_000))
    items = consumer_env.scan(TableName="consumer-idempotency")["Items"]
    assert [item["status"]["S"] for item in items] == ["INPROGRESS"]
    deadline_ms = int(items[0]["in_progress_expiration"]["N"])
    assert deadline_ms > time.time() * 1000  # the crashed invocation's deadline

    crashed = False
    # While the crashed invocation could still be running, the key stays claimed: retry later.
    early = handler(sqs_event(event), FakeLambdaContext())
    assert len(early["batchItemFailures"]) == 1
    assert effects == []

    # The crashed invocation's deadline passes (moved instead of slept: no timing in the test).
    consumer_env.update_item(
        TableName="consumer-idempotency",
        Key={"id": items[0]["id"]},
        UpdateExpression="SET in_progress_expiration = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time() * 1000) - 1)}},
    )
    late = handler(sqs_event(event), FakeLambdaContext())
    assert late["batchItemFailures"] == []
    assert effects == [event["id"]]


def test_same_key_with_different_payload_is_detected_with_payload_validation(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_KEY_PATH, BUSINESS_KEY)
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH, "detail.newBudget")
    recorder = Recorder()
    original = budget_event(version=3)
    conflicting = budget_event(version=3, detail={"newBudget": 999.0})

    invoke(recorder, original)
    response = invoke(recorder, sqs_record(conflicting, message_id="conflict"))

    assert failed_ids(response) == ["conflict"]
    assert len(recorder.effects) == 1
    logs, metrics = stdout_json_lines(capsys.readouterr().out)
    assert any(line["message"].startswith("Idempotency key reused") for line in logs)
    assert metric(metrics[-1], "PayloadMismatch") == 1


def test_same_key_with_different_payload_is_a_duplicate_without_payload_validation(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_KEY_PATH, BUSINESS_KEY)
    recorder = Recorder()

    invoke(recorder, budget_event(version=3))
    response = invoke(recorder, budget_event(version=3, detail={"newBudget": 999.0}))

    assert failed_ids(response) == []
    assert len(recorder.effects) == 1


def test_event_without_the_key_fails_instead_of_running_unprotected(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_KEY_PATH, "detail.orderId")
    recorder = Recorder()

    response = invoke(recorder, sqs_record(budget_event(), message_id="keyless"))

    assert failed_ids(response) == ["keyless"]
    assert recorder.effects == []


def test_records_use_the_stable_key_prefix_and_configured_expiry(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS, "3600")
    event = budget_event()
    before = int(time.time())

    @fanout_consumer
    def renamed_later(event: EventBridgeEvent[BudgetChanged]) -> None:
        return None

    renamed_later(sqs_event(event), FakeLambdaContext())

    (item,) = consumer_env.scan(TableName="consumer-idempotency")["Items"]
    assert item[constants.IDEMPOTENCY_KEY_ATTRIBUTE]["S"].startswith("TestConsumer#")
    assert item["status"]["S"] == "COMPLETED"
    expiry = int(item[constants.IDEMPOTENCY_EXPIRY_ATTRIBUTE]["N"])
    assert before + 3600 <= expiry <= int(time.time()) + 3600

    # Another function (a renamed handler) of the same consumer sees the event as done.
    effects: list[str] = []

    @fanout_consumer
    def new_name(event: EventBridgeEvent[BudgetChanged]) -> None:
        effects.append(event.id)

    new_name(sqs_event(event), FakeLambdaContext())
    assert effects == []


def test_default_expiry_is_the_dead_letter_queue_retention(consumer_env: Any) -> None:
    recorder = Recorder()
    invoke(recorder, budget_event())

    (item,) = consumer_env.scan(TableName="consumer-idempotency")["Items"]
    expiry = int(item[constants.IDEMPOTENCY_EXPIRY_ATTRIBUTE]["N"])
    assert abs(expiry - (time.time() + 14 * 24 * 3600)) < 60


def test_every_log_line_carries_event_consumer_and_correlation_ids(
    consumer_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = Recorder()
    correlated = budget_event(detail={"correlationId": "req-42"})
    plain = budget_event(2)

    invoke(recorder, correlated, plain, correlated)

    logs, _ = stdout_json_lines(capsys.readouterr().out)
    assert len(logs) == 5  # applying x2, processed x2, duplicate x1
    for line in logs:
        assert line["consumer"] == "TestConsumer"
        assert line["service"] == logger.service
        assert line["event_id"] in {correlated["id"], plain["id"]}
        expected = "req-42" if line["event_id"] == correlated["id"] else plain["id"]
        assert line["correlation_id"] == expected
        assert line["tenant_id"] == "5000"
    duplicate = [line for line in logs if line["message"].startswith("Duplicate")]
    assert len(duplicate) == 1
    assert duplicate[0]["first_delivery"]["eventId"] == correlated["id"]


def test_metrics_are_one_emf_blob_per_invocation_with_consumer_dimension(
    consumer_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = Recorder()
    recorder.fail_campaigns = {9}
    event = budget_event(1)

    invoke(recorder, event, event, budget_event(9), "garbage")

    _, metrics = stdout_json_lines(capsys.readouterr().out)
    assert len(metrics) == 1
    blob = metrics[0]
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "EventFanoutTests"
    assert ["consumer", "service"] in [sorted(d) for d in directive["Dimensions"]]
    assert {m["Name"] for m in directive["Metrics"]} >= {"Processed", "Duplicate", "Failed"}
    assert blob["consumer"] == "TestConsumer"
    counts = [metric(blob, n) for n in ("Processed", "Duplicate", "Failed", "Malformed")]
    assert counts == [1, 1, 2, 1]


def test_metrics_service_dimension_is_the_fanouts_not_the_logs_service(
    consumer_env: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The failed-records alarm names this dimension; a user's POWERTOOLS_SERVICE_NAME must not
    # move the metrics out from under it.
    monkeypatch.setenv(constants.ENV_METRICS_SERVICE, "Orders-Fanout-1A2B3C4D")
    monkeypatch.setenv(constants.ENV_POWERTOOLS_SERVICE_NAME, "billing-api")
    invoke(Recorder(), budget_event(1))
    _, metrics = stdout_json_lines(capsys.readouterr().out)
    (blob,) = metrics
    assert blob["service"] == "Orders-Fanout-1A2B3C4D"
    assert blob["consumer"] == "TestConsumer"


def test_missing_table_name_fails_the_invocation_loudly(aws: Any) -> None:
    recorder = Recorder()
    with pytest.raises(RuntimeConfigError, match="IDEMPOTENCY_TABLE_NAME is not set"):
        invoke(recorder, budget_event())
    assert recorder.effects == []


def test_invalid_expiry_fails_the_invocation_loudly(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS, "two weeks")
    with pytest.raises(RuntimeConfigError, match="positive number of seconds, got 'two weeks'"):
        invoke(Recorder(), budget_event())


def test_decorating_and_importing_do_not_create_a_dynamodb_client(aws: Any) -> None:
    Recorder()
    assert _built_runner.cache_info().currsize == 0


def test_untyped_handler_receives_the_raw_detail_and_envelope(consumer_env: Any) -> None:
    seen: list[EventBridgeEvent[dict[str, Any]]] = []

    @fanout_consumer(name="Untyped")
    def handler(event: EventBridgeEvent[dict[str, Any]]) -> None:
        seen.append(event)

    when = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    handler(sqs_event(budget_event(time=when, event_id="evt-1")), FakeLambdaContext())

    (event,) = seen
    assert (event.id, event.source, event.detail_type) == (
        "evt-1",
        "ads.campaigns",
        "CampaignBudgetChanged",
    )
    assert event.time == when
    assert event.detail["campaignId"] == 123456789
    assert (event.event_version, event.tenant_id, event.correlation_id) == ("1", "5000", None)


def test_fifo_batch_stops_a_group_after_its_failure_and_carries_on_with_other_groups(
    consumer_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = Recorder()
    recorder.fail_campaigns = {2}
    arn = "arn:aws:sqs:eu-west-1:123456789012:consumer-queue.fifo"

    def record(campaign: int, group: str) -> dict[str, Any]:
        return sqs_record(
            budget_event(campaign),
            message_id=f"{group}{campaign}",
            queue_arn=arn,
            message_group_id=group,
        )

    batch = sqs_event(record(1, "a"), record(2, "a"), record(3, "a"), record(4, "b"))
    response = recorder.handler(batch, FakeLambdaContext())

    # a3 must not overtake a2 in its group; group b is independent.
    assert failed_ids(dict(response)) == ["a2", "a3"]
    assert sorted(c for _, c, _ in recorder.effects) == [1, 4]
    _, metrics = stdout_json_lines(capsys.readouterr().out)
    assert (metric(metrics[-1], "Processed"), metric(metrics[-1], "Failed")) == (2, 2)


@pytest.mark.parametrize(
    "variable",
    [constants.ENV_IDEMPOTENCY_KEY_PATH, constants.ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH],
)
def test_fails_when_a_jmespath_setting_is_invalid_before_any_record_runs(
    consumer_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
) -> None:
    # GIVEN a path with a missing closing bracket
    monkeypatch.setenv(variable, "[detail.campaignId, detail.version")
    recorder = Recorder()

    # WHEN a batch arrives, THEN the invocation fails as a configuration error
    with pytest.raises(RuntimeConfigError) as raised:
        invoke(recorder, budget_event(1), budget_event(2))

    message = str(raised.value)
    assert f"{variable} is not a valid JMESPath expression" in message
    assert "'[detail.campaignId, detail.version'" in message
    assert "Incomplete expression" in message  # jmespath's own parse error
    assert recorder.effects == []
    assert consumer_env.scan(TableName="consumer-idempotency")["Items"] == []
    logs, _ = stdout_json_lines(capsys.readouterr().out)
    assert [line["message"] for line in logs] == [
        "Consumer configuration error; invocation failed, no record was processed"
    ]
    assert logs[0]["level"] == "ERROR"
    assert variable in logs[0]["reason"]


def test_fails_when_a_jmespath_setting_is_invalid_in_the_settings() -> None:
    with pytest.raises(
        RuntimeConfigError, match=r"IDEMPOTENCY_KEY_PATH is not a valid JMESPath.*'detail\.\.id'"
    ):
        ConsumerSettings.from_env(
            "Audit", {"IDEMPOTENCY_TABLE_NAME": "t", "IDEMPOTENCY_KEY_PATH": "detail..id"}
        )


def test_a_replayed_event_is_skipped_unless_its_replay_reprocesses(consumer_env: Any) -> None:
    # GIVEN an event already processed
    recorder = Recorder()
    event = budget_event()
    invoke(recorder, event)

    # WHEN EventBridge replays it (same id, replay-name added): by an ordinary replay, then by
    # a reprocessing one, twice (an SQS redelivery within that replay), then by a second one
    invoke(recorder, {**event, "replay-name": "after-fix-1"})
    invoke(recorder, {**event, "replay-name": "reprocess-billing-1"})
    invoke(recorder, {**event, "replay-name": "reprocess-billing-1"})
    invoke(recorder, {**event, "replay-name": "reprocess-billing-2"})

    # THEN the ordinary replay was a duplicate; each reprocessing replay ran it once
    assert len(recorder.effects) == 3
    assert {effect[0] for effect in recorder.effects} == {event["id"]}


class _FakeSubsegments:
    """What the runtime records in X-Ray: one annotated subsegment per record."""

    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def in_subsegment(self, name: str) -> Any:
        import contextlib

        annotations: dict[str, Any] = {}
        self.records.append((name, annotations))

        class _Subsegment:
            def put_annotation(self, key: str, value: Any) -> None:
                annotations[key] = value

        return contextlib.nullcontext(_Subsegment())


def test_with_tracing_each_record_gets_a_subsegment_with_its_ids_and_outcome(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from event_fanout.runtime import tracing

    fake = _FakeSubsegments()
    monkeypatch.setattr(tracing, "_provider", lambda service: fake)
    monkeypatch.setenv(constants.ENV_TRACING, "true")
    recorder = Recorder()
    recorder.fail_campaigns = {2}
    ok, failing = budget_event(1), budget_event(2)

    invoke(recorder, ok, failing, ok)

    outcomes = [(a["event_id"], a["outcome"]) for _, a in fake.records]
    # One subsegment per record; on worker threads the two keys run side by side, one key's
    # records in turn.
    assert sorted(outcomes) == sorted(
        [(ok["id"], "processed"), (failing["id"], "failed"), (ok["id"], "duplicate")]
    )
    assert [o for e, o in outcomes if e == ok["id"]] == ["processed", "duplicate"]
    name, first = next(r for r in fake.records if r[1]["event_id"] == ok["id"])
    assert name.endswith(" record") and first["correlation_id"] == ok["id"]


def test_without_tracing_no_tracer_is_touched(
    consumer_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from event_fanout.runtime import tracing

    def refuse(service: str) -> Any:
        raise AssertionError("the tracer was built")

    monkeypatch.setattr(tracing, "_provider", refuse)
    invoke(Recorder(), budget_event(1))
