"""The fault run loses nothing and applies nothing twice while its consumer workers are killed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from event_fanout.local.server import LocalAws

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "fault_run.py"
EVENTS = 200
KILLS = 3


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fault_run", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fault_run"] = module
    spec.loader.exec_module(module)
    return module


def test_fault_run_loses_nothing_and_applies_nothing_twice(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    # GIVEN the fault app deployed with the real CDK CLI (a standard and a FIFO consumer)
    # WHEN EVENTS orders are published with 10 % re-publishes, 2 % poison and 5 % transient
    # failures while a consumer worker is SIGKILLed three times (twice right after an effect)
    fault_run = _load()
    figures = fault_run.fault_run(
        local_aws, events=EVENTS, kills=KILLS, work_dir=tmp_path, echo=print
    )
    print(figures.line(), figures.per_consumer)

    # THEN every healthy order has exactly one effect per consumer, only poison is dead-lettered
    assert figures.kills >= 3
    assert figures.lost == 0, figures.lost_orders
    assert figures.double_effects == 0
    assert figures.unique == EVENTS
    assert figures.published == EVENTS + EVENTS // 10  # the re-publishes are new events
    assert figures.in_dlq == figures.poison * figures.consumers
    assert figures.effects == (EVENTS - figures.poison) * figures.consumers
    # AND re-publishes were skipped by the runtime's idempotency on the business key ...
    assert figures.duplicates_skipped > 0
    # ... while each kill between an effect and its idempotency record's completion made one
    # redelivery run the handler again, which the effect's own guard turned into a no-op:
    # never more reruns than kills (a re-publish reaching the handler would be one).
    assert figures.kills_after_effect >= 1
    assert figures.kills_after_effect <= figures.crash_reruns <= figures.kills
