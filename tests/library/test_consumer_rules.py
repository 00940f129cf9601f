"""The consumer's rule table and derived values, judged on plain facts without a construct.

``ConsumerFacts`` is what validation reads from the construct tree; building it by hand here
shows the rules and the derived values are pure functions of it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aws_cdk import Duration, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_

from event_fanout.constructs.consumer_rules import (
    DURATION_ARGUMENTS,
    RULES,
    WARNINGS,
    ConsumerFacts,
    consumer_facts,
    consumer_warnings,
    derive,
)
from event_fanout.constructs.lifetimes import message_lifetime_seconds, visibility_timeout_seconds
from event_fanout.constructs.lookups import seconds_of
from event_fanout.constructs.options import ConsumerProps, Idempotency
from tests.builders import new_function, new_stack

DAY = 86_400


def _facts(
    *,
    function_timeout: int | None = 30,
    runtime: tuple[str, bool] | None = ("python3.13", True),
    **options: Any,
) -> ConsumerFacts:
    stack = new_stack()
    props = ConsumerProps(
        event_bus=events.EventBus(stack, "Bus"),
        handler=new_function(stack),
        event_pattern=events.EventPattern(source=["a"]),
        **options,
    )
    return ConsumerFacts(
        props=props,
        path="Test/Audit",
        name="Audit",
        seconds={prop: seconds_of(getattr(props, prop)) for prop in DURATION_ARGUMENTS},
        function_timeout=function_timeout,
        function_is_local=True,
        already_bound=False,
        runtime=runtime,
    )


def _broken(facts: ConsumerFacts) -> list[str]:
    return [f"{p.prop}: {p.expected}" for rule in RULES if (p := rule.problem(facts))]


def test_the_defaults_break_no_rule_and_earn_no_warning() -> None:
    facts = _facts()
    assert _broken(facts) == []
    assert consumer_warnings(facts) == []


def test_a_rule_reports_its_prop_and_a_range_computed_from_the_facts() -> None:
    assert _broken(_facts(fifo=True, message_group_id="g", batch_size=11)) == [
        "batch_size: must be between 1 and 10"
    ]
    assert _broken(_facts(batch_size=11)) == [
        "batch_size: above 10 requires max_batching_window of at least 1 second"
    ]


def test_tokens_pass_every_rule() -> None:
    token = Duration.seconds(Token.as_number({"Ref": "Seconds"}))
    facts = _facts(
        batch_size=Token.as_number({"Ref": "Batch"}),
        max_receive_count=Token.as_number({"Ref": "Receives"}),
        retention_period=token,
        max_message_age=token,
        visibility_timeout=token,
        function_timeout=None,
    )
    assert _broken(facts) == []


def test_judging_twice_gives_the_same_problems() -> None:
    """No rule keeps state: the table can be run again (or in any order) on the same facts."""
    facts = _facts(max_receive_count=0, retry_attempts=200, fifo=True)
    first = _broken(facts)
    assert first == _broken(facts)
    assert first == [
        "max_receive_count: must be between 1 and 1000",
        "retry_attempts: must be between 0 and 185",
        "message_group_id: is required when fifo=True",
    ]


def test_rules_and_warnings_each_name_a_prop_or_code() -> None:
    props = {f.name for f in dataclasses.fields(ConsumerProps)}
    for rule in RULES:
        assert rule.prop.split(".")[0] in props | {"construct_id"}, rule.prop
    assert len({w.code for w in WARNINGS}) == len(WARNINGS)


@pytest.mark.parametrize(
    ("timeout", "window", "expected"), [(30, 0, 180), (30, 20, 200), (3, 0, 18), (900, 300, 5700)]
)
def test_visibility_timeout_is_six_function_timeouts_plus_the_window(
    timeout: int, window: int, expected: int
) -> None:
    assert visibility_timeout_seconds(timeout, window) == expected
    facts = _facts(
        function_timeout=timeout,
        max_batching_window=Duration.seconds(window) if window else None,
    )
    assert derive(facts).visibility_timeout_seconds == expected


def test_an_explicit_visibility_timeout_wins() -> None:
    assert derive(_facts(visibility_timeout=Duration.minutes(10))).visibility_timeout_seconds == 600


def test_message_lifetime_standard_is_the_dlq_retention_fifo_adds_the_source() -> None:
    assert (
        message_lifetime_seconds(
            fifo=False, retention_seconds=4 * DAY, dead_letter_retention_seconds=14 * DAY
        )
        == 14 * DAY
    )
    assert (
        message_lifetime_seconds(
            fifo=True, retention_seconds=4 * DAY, dead_letter_retention_seconds=14 * DAY
        )
        == 18 * DAY
    )


def test_idempotency_expiry_defaults_to_the_lifetime_and_warns_when_shorter() -> None:
    assert derive(_facts()).idempotency_expiry_seconds == 14 * DAY
    fifo = _facts(fifo=True, message_group_id="g")
    assert derive(fifo).idempotency_expiry_seconds == 18 * DAY
    short = _facts(idempotency=Idempotency(expires_after=Duration.days(1)))
    assert derive(short).idempotency_expiry_seconds == DAY
    ((code, message),) = consumer_warnings(short)
    assert code == "event-fanout:idempotency-expiry-below-message-lifetime"
    assert "(86400 s)" in message and "(1209600 s = dead_letter_retention_period" in message


def test_idempotency_expiry_of_a_token_retention_is_carried_as_the_token() -> None:
    token = Duration.seconds(Token.as_number({"Ref": "Retention"}))
    assert derive(_facts(dead_letter_retention_period=token)).idempotency_expiry_seconds is None


def test_a_non_python_handler_keeps_no_default_table_but_an_asked_one() -> None:
    node = ("nodejs22.x", False)
    assert derive(_facts(runtime=node)).idempotency is None
    ((code, _),) = consumer_warnings(_facts(runtime=node))
    assert code == "event-fanout:non-python-handler"
    asked = Idempotency(key_path="detail.id")
    assert derive(_facts(runtime=node, idempotency=asked)).idempotency is asked


def test_facts_read_from_a_construct_match_the_hand_built_ones() -> None:
    stack = new_stack()
    function = new_function(
        stack, timeout=Duration.seconds(45), runtime=lambda_.Runtime.NODEJS_22_X
    )
    props = ConsumerProps(
        event_bus=events.EventBus(stack, "Bus"),
        handler=function,
        event_pattern=events.EventPattern(source=["a"]),
    )
    facts = consumer_facts("Test/Audit", "Audit", props)
    assert facts.function_timeout == 45
    assert facts.runtime == ("nodejs22.x", False)
    assert facts.seconds["retention_period"] == 4 * DAY
    assert not facts.already_bound
