"""Across the whole space of consumer arguments: a template cfn-lint accepts, or one clear error.

Hypothesis draws argument sets, valid and invalid (wrong types, out-of-range numbers, odd
durations, bad patterns and group ids). Each must either synthesize a template cfn-lint finds no
error in, or raise ``EventFanoutConfigError``; any other exception (a raw jsii error, a
``TypeError`` from inside the library) fails the test. Bounded to a few dozen examples so the
suite stays fast; run with ``HYPOTHESIS_PROFILE=thorough`` for more.
"""

from __future__ import annotations

import os
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from event_fanout import EventFanout, EventFanoutConfigError, Idempotency
from tests.builders import new_function, new_stack
from tests.template_checks import cfn_lint

settings.register_profile(
    "suite",
    max_examples=20,
    deadline=None,
    derandomize=True,  # the same examples every run: a stable suite, not a flaky one
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

durations = st.one_of(
    st.none(),
    st.integers(min_value=-5, max_value=20 * 86400).map(Duration.seconds),
    st.integers(min_value=1, max_value=5000).map(Duration.millis),
    st.integers(min_value=0, max_value=20).map(Duration.days),
    st.integers(min_value=0, max_value=600),  # a number where a Duration belongs
)
counts = st.one_of(
    st.none(),
    st.integers(min_value=-3, max_value=20_000),
    st.floats(min_value=0, max_value=50, allow_nan=False),
    st.just(Duration.seconds(10)),  # a Duration where a number belongs
)
patterns = st.sampled_from(
    [
        events.EventPattern(source=["shop.orders"]),
        events.EventPattern(source=["shop.orders"], detail={"total": [{"numeric": [">", 10]}]}),
        events.EventPattern(source=["shop.orders"], detail={"status": "PAID"}),
        events.EventPattern(source="shop.orders"),  # type: ignore[arg-type]
        events.EventPattern(detail={"kind": [{"sortsAfter": "b"}]}),
        events.EventPattern(),
    ]
)
consumer_arguments = st.fixed_dictionaries(
    {},
    optional={
        "batch_size": counts,
        "max_batching_window": durations,
        "max_concurrency": counts,
        "max_receive_count": counts,
        "visibility_timeout": durations,
        "retention_period": durations,
        "dead_letter_retention_period": durations,
        "max_message_age": durations,
        "retry_attempts": counts,
        "max_event_age": durations,
        "fifo": st.booleans(),
        "message_group_id": st.one_of(
            st.none(), st.sampled_from(["orders", "$.detail.id", "a b", "g" * 129])
        ),
        "idempotency": st.one_of(
            st.none(),
            st.builds(
                Idempotency,
                key_path=st.sampled_from(["id", "[detail.a, detail.b]", "[detail.a", " "]),
                expires_after=durations,
            ),
        ),
    },
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(arguments=consumer_arguments, pattern=patterns, timeout=st.sampled_from([3, 30, 900]))
def test_every_argument_set_synthesizes_lint_clean_or_fails_clearly(
    arguments: dict[str, Any], pattern: events.EventPattern, timeout: int
) -> None:
    arguments = {k: v for k, v in arguments.items() if v is not None or k == "idempotency"}
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    try:
        fanout.add_consumer(
            "Orders",
            handler=new_function(stack, "Fn", timeout=Duration.seconds(timeout)),
            event_pattern=pattern,
            **arguments,
        )
    except EventFanoutConfigError as error:
        assert "Test/Fanout" in str(error)
        event("rejected with EventFanoutConfigError")
        return
    event("synthesized")
    template = Template.from_stack(stack).to_json()
    errors = [finding for finding in cfn_lint(template) if finding.startswith("E")]
    assert errors == [], arguments
