"""The reference stack's handlers, invoked as Lambda invokes them, with their tables in moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
import pytest
from runtime_test_helpers import (
    create_idempotency_table,
    failed_ids,
    import_handler_module,
    stdout_json_lines,
)

from event_fanout.runtime import constants
from event_fanout.runtime.testing import (
    FakeLambdaContext,
    make_eventbridge_event,
    sqs_event,
    sqs_record,
)

REGION = "eu-west-1"

# Imported by their Lambda names from the function code's root, as the Lambda runtime does.
reporting_sync = import_handler_module("reporting_sync")
audit_log = import_handler_module("audit_log")
notification = import_handler_module("notification")


def budget_changed(version: int, new_budget: float, **kwargs: Any) -> dict[str, Any]:
    detail = {
        "companyId": 5000,
        "profileId": 50000100,
        "campaignId": 123456789,
        "oldBudget": 50.00,
        "newBudget": new_budget,
        "version": version,
    }
    return make_eventbridge_event(detail, **kwargs)


def deploy_consumer(
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    *,
    consumer: str,
    table_env: str,
    table_key: str,
    key_path: str = constants.DEFAULT_IDEMPOTENCY_KEY_PATH,
) -> Any:
    """Create the tables and set the environment the reference stack gives this consumer."""
    idempotency_table = create_idempotency_table(aws, f"{consumer}-idempotency")
    aws.create_table(
        TableName=f"{consumer}-effects",
        AttributeDefinitions=[{"AttributeName": table_key, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": table_key, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv(table_env, f"{consumer}-effects")
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_TABLE_NAME, idempotency_table)
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_KEY_PATH, key_path)
    monkeypatch.setenv(constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS, "1209600")
    monkeypatch.setenv(constants.ENV_CONSUMER_NAME, consumer)
    monkeypatch.setenv(constants.ENV_POWERTOOLS_SERVICE_NAME, consumer)
    monkeypatch.setenv(constants.ENV_POWERTOOLS_METRICS_NAMESPACE, "EventFanout")
    return boto3.resource("dynamodb", region_name=REGION).Table(f"{consumer}-effects")


@pytest.fixture(autouse=True)
def fresh_handler_clients() -> Iterator[None]:
    """Handlers cache their table per container; each test is a new container in a new account."""
    caches = (
        reporting_sync.budgets_table,
        audit_log.audit_table,
        notification.notifications_table,
    )
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


def invoke(module: ModuleType, *bodies: Any) -> dict[str, Any]:
    return dict(module.handler(sqs_event(*bodies), FakeLambdaContext()))


class TestReportingSync:
    @pytest.fixture
    def budgets(self, aws: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
        return deploy_consumer(
            aws,
            monkeypatch,
            consumer="ReportingSync",
            table_env="BUDGETS_TABLE_NAME",
            table_key="campaignId",
            key_path="[detail.campaignId, detail.version]",
        )

    def test_writes_the_new_budget(self, budgets: Any) -> None:
        event = budget_changed(1, 75.0, time="2024-05-01T10:00:00Z")

        assert failed_ids(invoke(reporting_sync, event)) == []

        assert budgets.get_item(Key={"campaignId": "123456789"})["Item"] == {
            "campaignId": "123456789",
            "companyId": 5000,
            "profileId": 50000100,
            "budget": Decimal("75.0"),
            "version": 1,
            "eventId": event["id"],
            "updatedAt": "2024-05-01T10:00:00+00:00",
        }

    def test_late_older_version_is_skipped_not_failed(
        self, budgets: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        newer, older = budget_changed(2, 90.0), budget_changed(1, 75.0)

        # The older version arrives late: in a later batch (in one batch, records may run side
        # by side, and "later" has no meaning).
        assert failed_ids(invoke(reporting_sync, newer)) == []
        response = invoke(reporting_sync, older)

        assert failed_ids(response) == []
        item = budgets.get_item(Key={"campaignId": "123456789"})["Item"]
        assert (item["version"], item["budget"], item["eventId"]) == (2, Decimal("90"), newer["id"])
        logs, _ = stdout_json_lines(capsys.readouterr().out)
        (stale,) = [line for line in logs if line["message"].startswith("Stale budget change")]
        assert (stale["incoming_version"], stale["stored_version"]) == (1, 2)
        assert stale["event_id"] == older["id"]

    def test_republished_version_has_one_effect_and_next_version_a_second(
        self, budgets: Any
    ) -> None:
        first = budget_changed(1, 75.0)
        republished = budget_changed(1, 75.0)  # same business fact, new EventBridge id
        assert first["id"] != republished["id"]

        invoke(reporting_sync, first)
        invoke(reporting_sync, republished)
        assert budgets.get_item(Key={"campaignId": "123456789"})["Item"]["eventId"] == first["id"]

        invoke(reporting_sync, budget_changed(2, 80.0))
        item = budgets.get_item(Key={"campaignId": "123456789"})["Item"]
        assert (item["version"], item["budget"]) == (2, Decimal("80"))

    def test_malformed_detail_fails_only_that_record(self, budgets: Any) -> None:
        bad = make_eventbridge_event({"campaignId": 1})  # no version, no budgets

        response = invoke(reporting_sync, sqs_record(bad, message_id="bad"), budget_changed(1, 5))

        assert failed_ids(response) == ["bad"]
        assert budgets.scan()["Count"] == 1


class TestAuditLog:
    @pytest.fixture
    def audit(self, aws: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
        return deploy_consumer(
            aws, monkeypatch, consumer="AuditLog", table_env="AUDIT_TABLE_NAME", table_key="eventId"
        )

    def test_appends_each_event_once(self, audit: Any) -> None:
        first, second = budget_changed(1, 75.0), budget_changed(2, 80.0)

        response = invoke(audit_log, first, second, first)
        invoke(audit_log, sqs_record(second, message_id="redelivered", receive_count=2))

        assert failed_ids(response) == []
        items = {item["eventId"]: item for item in audit.scan()["Items"]}
        assert set(items) == {first["id"], second["id"]}
        record = items[first["id"]]
        assert (record["source"], record["detailType"]) == (
            "ads.campaigns",
            "CampaignBudgetChanged",
        )
        assert json.loads(record["detail"]) == first["detail"]
        assert record["time"] == first["time"].replace("Z", "+00:00")

    def test_existing_audit_record_is_never_rewritten(self, audit: Any) -> None:
        event = budget_changed(1, 75.0)
        audit.put_item(Item={"eventId": event["id"], "source": "written-earlier"})

        assert failed_ids(invoke(audit_log, event)) == []
        assert audit.get_item(Key={"eventId": event["id"]})["Item"]["source"] == "written-earlier"


class TestNotification:
    @pytest.fixture
    def notifications(self, aws: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
        return deploy_consumer(
            aws,
            monkeypatch,
            consumer="Notification",
            table_env="NOTIFICATIONS_TABLE_NAME",
            table_key="notificationId",
        )

    def test_records_one_notification_per_event(self, notifications: Any) -> None:
        event = budget_changed(1, 1500.0)

        invoke(notification, event, event)
        invoke(notification, sqs_record(event, message_id="again"))

        (item,) = notifications.scan()["Items"]
        assert item["notificationId"] == f"budget-changed:{event['id']}"
        assert item["campaignId"] == "123456789"
        assert item["message"] == "Budget of campaign 123456789 changed from 50.00 to 1500.00"
        assert item["newBudget"] == Decimal("1500")

    def test_handler_failure_is_retried_without_a_second_notification(
        self, notifications: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        event = budget_changed(1, 1500.0)
        monkeypatch.setenv("NOTIFICATIONS_TABLE_NAME", "missing-table")

        response = invoke(notification, sqs_record(event, message_id="m-1"))
        assert failed_ids(response) == ["m-1"]

        notification.notifications_table.cache_clear()
        monkeypatch.setenv("NOTIFICATIONS_TABLE_NAME", "Notification-effects")
        assert failed_ids(invoke(notification, sqs_record(event, message_id="m-1"))) == []
        assert notifications.scan()["Count"] == 1
