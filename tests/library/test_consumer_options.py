"""Both ways to add a consumer are typed: mypy and synth reject misspelled arguments."""

from __future__ import annotations

import dataclasses
import inspect
import re
import textwrap
import typing
from pathlib import Path

import pytest
from aws_cdk import aws_events as events
from mypy import api as mypy_api

from event_fanout import EventFanout, EventFanoutConfigError, FanoutConsumer
from event_fanout.constructs.options import ConsumerOptions, ConsumerProps
from tests.builders import REPO_ROOT, new_function, new_stack

PATTERN = events.EventPattern(source=["a"])


def test_consumer_options_are_the_props_with_their_types() -> None:
    """Two lists, kept equal: the TypedDict (typing) cannot drift from the props (defaults)."""
    props = {f.name: f for f in dataclasses.fields(ConsumerProps)}
    options = typing.get_type_hints(ConsumerOptions)
    assert set(options) == set(props) - {"event_bus", "handler"}
    props_types = typing.get_type_hints(ConsumerProps)
    for name, hint in options.items():
        assert hint == props_types[name], name
    required = {n for n, f in props.items() if f.default is dataclasses.MISSING}
    assert ConsumerOptions.__required_keys__ == required - {"event_bus", "handler"}


def test_the_constructs_take_the_bus_the_handler_and_the_options() -> None:
    construct = inspect.signature(FanoutConsumer.__init__).parameters
    assert list(construct) == ["self", "scope", "construct_id", "event_bus", "handler", "options"]
    add = inspect.signature(EventFanout.add_consumer).parameters
    assert list(add) == ["self", "consumer_id", "handler", "options"]


def test_fails_when_a_standalone_consumer_misses_its_pattern_or_misspells_an_argument() -> None:
    stack = new_stack()
    with pytest.raises(EventFanoutConfigError) as caught:
        FanoutConsumer(  # type: ignore[call-arg]
            stack,
            "Audit",
            event_bus=events.EventBus(stack, "Bus"),
            handler=new_function(stack),
            max_recieve_count=3,
        )
    message = str(caught.value)
    assert "Test/Audit: event_pattern is required" in message
    assert "max_recieve_count is not an argument" in message
    assert "did you mean max_receive_count=?" in message


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
    PATTERN = events.EventPattern(source=["a"])
    WINDOW = Duration.seconds(2)
    fanout.add_consumer("Correct", handler=fn, event_pattern=PATTERN, max_batching_window=WINDOW)
    fanout.add_consumer("Misspelled", handler=fn, event_pattern=PATTERN, batch_sise=10)
    fanout.add_consumer("WrongType", handler=fn, event_pattern=PATTERN, max_batching_window=2)
    fanout.add_consumer("NoPattern", handler=fn)
"""


def test_mypy_accepts_a_correct_call_and_rejects_misspellings_and_wrong_types(
    tmp_path: Path,
) -> None:
    """One mypy run over four calls: each error on its own line, none on the correct call."""
    status, output = _mypy(tmp_path, APP)
    lines = textwrap.dedent(APP).splitlines()
    errors = {
        lines[int(line) - 1].split('"')[1]: message
        for line, message in re.findall(r"app_under_check\.py:(\d+): error: (.*)", output)
    }
    assert status == 1, output
    assert set(errors) == {"Misspelled", "WrongType", "NoPattern"}, output
    assert '"batch_sise"' in errors["Misspelled"]
    assert "max_batching_window" in errors["WrongType"]
    assert "event_pattern" in errors["NoPattern"]
