"""Helpers shared by the runtime tests (module name unique across the test tree)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import event_fanout
from event_fanout.runtime import constants

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
