"""Both ways to add a consumer are typed: mypy and synth reject misspelled arguments.

What mypy --strict rejects is checked by scripts/test.sh on tests/typing/add_consumer_misuse.py
(each rejected call carries the ``type: ignore`` it needs; an unused one is an error).
"""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest
from aws_cdk import aws_events as events

from event_fanout import EventFanout, EventFanoutConfigError, FanoutConsumer
from event_fanout.constructs.options import ConsumerOptions, ConsumerProps
from tests.builders import new_function, new_stack

PATTERN = events.EventPattern(source=["a"])


def test_consumer_options_are_the_props_with_their_types() -> None:
    """Two lists, kept equal: the TypedDict (typing) cannot drift from the props (defaults)."""
    from event_fanout.events import EventType

    # The event type is a string annotation (event_fanout.events needs pydantic): resolve it.
    names = {"EventType": EventType}
    props = {f.name: f for f in dataclasses.fields(ConsumerProps)}
    options = typing.get_type_hints(ConsumerOptions, localns=names)
    assert set(options) == set(props) - {"event_bus", "handler"}
    props_types = typing.get_type_hints(ConsumerProps, localns=names)
    for name, hint in options.items():
        assert hint == props_types[name], name
    required = {n for n, f in props.items() if f.default is dataclasses.MISSING}
    # event_pattern: required of the props, optional as an argument (event_type derives it).
    assert ConsumerOptions.__required_keys__ == required - {"event_bus", "handler", "event_pattern"}


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
