"""Helpers shared by the runtime tests (module name unique across the test tree)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

import event_fanout
from event_fanout.runtime import EventBridgeEvent, constants, fanout_consumer, logger
from event_fanout.runtime.testing import FakeLambdaContext, make_eventbridge_event, sqs_event

#: The reference stack's function code root (deployed with Code.from_asset).
HANDLERS_DIR = Path(event_fanout.__file__).parent / "stacks" / "handlers"


def import_handler_module(name: str) -> ModuleType:
    """Import a handler module by its Lambda name, with the code root on sys.path like Lambda."""
    if str(HANDLERS_DIR) not in sys.path:
        sys.path.insert(0, str(HANDLERS_DIR))
    return importlib.import_module(name)


def create_idempotency_table(client: Any, name: str) -> str:
    """Create a table with the schema the IdempotencyTable construct deploys."""
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": constants.IDEMPOTENCY_KEY_ATTRIBUTE, "AttributeType": "S"}
        ],
        KeySchema=[{"AttributeName": constants.IDEMPOTENCY_KEY_ATTRIBUTE, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def stdout_json_lines(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split captured stdout into (log lines, EMF metric blobs); fails on a non-JSON line."""
    logs: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        document = json.loads(line)
        (metrics if "_aws" in document else logs).append(document)
    return logs, metrics


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def metric(blob: dict[str, Any], name: str) -> float:
    """Value of one metric in an EMF blob (Powertools writes each value as a list)."""
    value = blob[name]
    return float(sum(value)) if isinstance(value, list) else float(value)


BUSINESS_KEY = "[detail.campaignId, detail.version]"


class BudgetChanged(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    company_id: int
    profile_id: int
    campaign_id: int
    old_budget: float
    new_budget: float
    version: int


def budget_event(campaign_id: int = 123456789, version: int = 1, **kwargs: Any) -> dict[str, Any]:
    detail = {
        "companyId": 5000,
        "profileId": 50000100,
        "campaignId": campaign_id,
        "oldBudget": 50.0,
        "newBudget": 75.0 + version,
        "version": version,
    }
    detail.update(kwargs.pop("detail", {}))
    return make_eventbridge_event(detail, **kwargs)


class Recorder:
    """A consumer whose effect is an append to a list, optionally failing on chosen campaigns."""

    def __init__(self) -> None:
        self.effects: list[tuple[str, int, int]] = []
        self.fail_campaigns: set[int] = set()
        self.crash_campaigns: set[int] = set()

        @fanout_consumer
        def handler(event: EventBridgeEvent[BudgetChanged]) -> None:
            if event.detail.campaign_id in self.crash_campaigns:
                # A timeout or an out-of-memory kill: the key stays IN_PROGRESS.
                raise SystemExit("execution environment killed")
            if event.detail.campaign_id in self.fail_campaigns:
                raise RuntimeError(f"downstream refused campaign {event.detail.campaign_id}")
            logger.info("applying budget", extra={"new_budget": event.detail.new_budget})
            self.effects.append((event.id, event.detail.campaign_id, event.detail.version))

        self.handler = handler


def invoke(recorder: Recorder, *bodies: Any, remaining_ms: int = 30_000) -> dict[str, Any]:
    return dict(recorder.handler(sqs_event(*bodies), FakeLambdaContext(remaining_ms)))
