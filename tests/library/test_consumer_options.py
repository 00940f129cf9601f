"""``add_consumer`` is typed like ``FanoutConsumer``: mypy and synth both reject misspellings."""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

import pytest
from aws_cdk import aws_events as events
from mypy import api as mypy_api

from event_fanout import EventFanout, EventFanoutConfigError, FanoutConsumer
from event_fanout.constructs.options import ConsumerOptions
from tests.builders import REPO_ROOT, new_function, new_stack

PATTERN = events.EventPattern(source=["a"])


def test_consumer_options_are_the_constructs_arguments() -> None:
    """One list of names: the TypedDict cannot drift from the signature (the defaults' source)."""
    parameters = inspect.signature(FanoutConsumer.__init__).parameters
    construct_args = set(parameters) - {"self", "scope", "construct_id", "event_bus"}
    assert set(ConsumerOptions.__annotations__) == construct_args
    required = {n for n, p in parameters.items() if p.default is inspect.Parameter.empty}
    assert ConsumerOptions.__required_keys__ == required & construct_args


def test_fails_when_an_argument_is_misspelled() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    with pytest.raises(EventFanoutConfigError, match=r"batch_sise .*did you mean batch_size=\?"):
        fanout.add_consumer(
            "Audit",
            handler=new_function(stack),
            event_pattern=PATTERN,
            batch_sise=10,  # type: ignore[typeddict-unknown-key]
        )


def _mypy(tmp_path: Path, source: str) -> tuple[int, str]:
    path = tmp_path / "app_under_check.py"
    path.write_text(textwrap.dedent(source))
    stdout, stderr, status = mypy_api.run(
        [
            "--strict",
            "--cache-dir",
            str(REPO_ROOT / ".mypy_cache"),
            "--config-file",
            str(REPO_ROOT / "pyproject.toml"),
            str(path),
        ]
    )
    return status, stdout + stderr


APP = """
    from aws_cdk import App, Duration, Stack
    from aws_cdk import aws_events as events
    from aws_cdk import aws_lambda as lambda_
    from constructs import Construct

    from event_fanout import EventFanout


    def fn(scope: Construct) -> lambda_.Function:
        return lambda_.Function(
            scope,
            "Fn",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(e, c): pass"),
        )


    stack = Stack(App(), "Typed")
    fanout = EventFanout(stack, "Fanout")
    fanout.add_consumer(
        "Audit",
        handler=fn,
        event_pattern=events.EventPattern(source=["a"]),
        {extra}
    )
"""


def test_mypy_accepts_a_correct_call_and_rejects_misspellings_and_wrong_types(
    tmp_path: Path,
) -> None:
    status, output = _mypy(tmp_path, APP.format(extra="max_batching_window=Duration.seconds(2),"))
    assert status == 0, output
    status, output = _mypy(tmp_path, APP.format(extra="batch_sise=10,"))
    assert status == 1 and '"batch_sise"' in output, output
    status, output = _mypy(tmp_path, APP.format(extra="max_batching_window=2,"))
    assert status == 1 and "max_batching_window" in output, output
