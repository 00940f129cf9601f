"""The runtime's docstring examples run, and docs/runtime.md documents what the code reads."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

from event_fanout.runtime import constants

DOC = Path(__file__).parents[2] / "docs" / "runtime.md"
MODULES = [
    "event_fanout.runtime",
    "event_fanout.runtime.consumer",
    "event_fanout.runtime.dead_letter",
    "event_fanout.runtime.events",
    "event_fanout.runtime.idempotency",
    "event_fanout.runtime.observability",
    "event_fanout.runtime.settings",
    "event_fanout.runtime.testing",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for name in (constants.ENV_POWERTOOLS_METRICS_NAMESPACE, constants.ENV_CONSUMER_NAME):
        monkeypatch.delenv(name, raising=False)
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def documented_defaults() -> dict[str, str]:
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", DOC.read_text(), flags=re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def test_every_environment_variable_the_runtime_reads_is_documented() -> None:
    env_names = {value for name, value in vars(constants).items() if name.startswith("ENV_")}
    assert env_names <= set(documented_defaults())


def test_documented_defaults_match_the_code() -> None:
    documented = documented_defaults()
    assert documented[constants.ENV_IDEMPOTENCY_KEY_PATH] == (
        f"`{constants.DEFAULT_IDEMPOTENCY_KEY_PATH}`"
    )
    assert documented[constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS].startswith(
        f"`{constants.DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS}`"
    )
    assert documented[constants.ENV_POWERTOOLS_METRICS_NAMESPACE] == (
        f"`{constants.DEFAULT_METRICS_NAMESPACE}`"
    )
    metrics = [
        constants.METRIC_PROCESSED,
        constants.METRIC_DUPLICATE,
        constants.METRIC_FAILED,
        constants.METRIC_MALFORMED,
        constants.METRIC_PAYLOAD_MISMATCH,
        constants.METRIC_DEAD_LETTERED,
    ]
    for metric in metrics:
        assert f"| `{metric}` |" in DOC.read_text()
