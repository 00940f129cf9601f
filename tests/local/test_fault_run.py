"""The fault run reconciles: every unique event has one effect or sits in the DLQ."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from event_fanout.local.deploy import CdkApp
from event_fanout.local.server import LocalAws

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "fault_run.py"


def _load() -> object:
    spec = importlib.util.spec_from_file_location("fault_run", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fault_run"] = module
    spec.loader.exec_module(module)
    return module


def test_fault_run_loses_nothing(
    local_aws: LocalAws, deploy_reference: Callable[[], CdkApp]
) -> None:
    fault_run = _load()
    deploy_reference()
    figures = fault_run.fault_run(local_aws, deploy=False)  # type: ignore[attr-defined]
    print(figures.line())
    assert figures.published == 1000
    assert figures.unique == 1000
    assert figures.in_dlq == 20  # 2% poison
    assert figures.duplicates_skipped == 100  # 10% delivered twice
    assert figures.effects == 980
    assert figures.transient_failures > 0
    assert figures.lost == 0
