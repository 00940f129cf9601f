"""Saved Logs Insights queries: one event followed through every consumer, failures, slowness."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template
from constructs import Construct

from event_fanout import EventFanout
from event_fanout.constructs.log_queries import ID_PLACEHOLDER
from tests.builders import new_function, new_stack

PATTERN = events.EventPattern(source=["shop.orders"])


def _queries(stack: Stack) -> dict[str, dict[str, Any]]:
    resources = Template.from_stack(stack).to_json()["Resources"]
    return {
        r["Properties"]["Name"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Logs::QueryDefinition"
    }


def test_each_query_reads_every_consumers_log_group_of_the_stack() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    for name in ("Billing", "Audit"):
        fanout.add_consumer(name, handler=new_function(stack, f"{name}Fn"), event_pattern=PATTERN)
    queries = _queries(stack)
    assert sorted(queries) == [
        "event-fanout/Test/Fanout/failures-by-reason",
        "event-fanout/Test/Fanout/follow-one-event",
        "event-fanout/Test/Fanout/slowest-records",
    ]
    follow = queries["event-fanout/Test/Fanout/follow-one-event"]
    assert (
        f"event_id = '{ID_PLACEHOLDER}' or correlation_id = '{ID_PLACEHOLDER}'"
        in (follow["QueryString"])
    )
    assert "sort @timestamp asc" in follow["QueryString"]
    assert (
        "filter level = 'ERROR'"
        in queries["event-fanout/Test/Fanout/failures-by-reason"]["QueryString"]
    )
    assert (
        "sort duration_ms desc"
        in queries["event-fanout/Test/Fanout/slowest-records"]["QueryString"]
    )
    for query in queries.values():
        # Both functions' log groups (/aws/lambda/<function name>), added after the fan-out.
        assert len(query["LogGroupNames"]) == 2
        assert all("/aws/lambda/" in str(name) for name in query["LogGroupNames"])
    # Naming a log group creates none: no LogRetention custom resource, no function of its own.
    types = [r["Type"] for r in Template.from_stack(stack).to_json()["Resources"].values()]
    assert "Custom::LogRetention" not in types
    assert types.count("AWS::Lambda::Function") == 2


def test_a_shard_has_its_own_queries_over_its_own_consumers() -> None:
    stack = new_stack()

    def factory(scope: Construct) -> Any:
        return new_function(scope, "Fn")

    fanout = EventFanout(stack, "Fanout", shards=2)
    for i in range(4):
        fanout.add_consumer(f"C{i}", handler=factory, event_pattern=PATTERN)
    assert _queries(stack) == {}  # no consumer in the fan-out's own stack
    for shard in fanout.shards:
        queries = _queries(shard)
        members = [c for c in fanout.consumers.values() if Stack.of(c) is shard]
        assert len(queries) == 3
        assert all(len(q["LogGroupNames"]) == len(members) for q in queries.values())
        assert all(
            name.startswith(f"event-fanout/Test/Fanout/{shard.node.id}/") for name in queries
        )
