"""Counting a shard's resources stays cheap: the whole shard is walked once near its budget.

A walk of a stack's construct tree is a jsii round trip per construct; walking a full shard at
every consumer added after it neared its budget made the last consumers of a large fan-out cost
half as much again as the first.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import NestedStack, Stack
from aws_cdk import aws_events as events

from event_fanout import EventFanout
from event_fanout.constructs import consumer_shards
from tests.builders import new_function, new_stack


def test_a_shard_is_walked_whole_once_and_its_estimate_stays_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walks: list[str] = []
    count = consumer_shards.count_resources

    def counting(scope: Any) -> int:
        if isinstance(scope, Stack):
            walks.append(scope.node.id)
        return count(scope)

    monkeypatch.setattr(consumer_shards, "count_resources", counting)
    stack = new_stack()
    # A budget the shard nears after a few consumers (about 20 resources each).
    fanout = EventFanout(stack, "Fanout", shards=1, resource_budget=260)
    pattern = events.EventPattern(source=["shop.orders"])
    for index in range(14):
        fanout.add_consumer(
            f"C{index}",
            handler=lambda scope, i=index: new_function(scope, f"Fn{i}"),
            event_pattern=pattern,
        )

    (shard,) = fanout.shards
    assert walks.count(shard.node.id) == 1, walks
    # The estimate the placement kept is what the shard holds.
    assert isinstance(shard, NestedStack)
    assert consumer_shards.count_resources(shard) == count(shard)
    placement = fanout._placement
    (target,) = [t for t in placement._targets.values() if t.scope is shard]  # type: ignore[attr-defined]
    assert target.estimate == count(shard)
