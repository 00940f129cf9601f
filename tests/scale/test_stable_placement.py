"""Adding, removing or reordering consumers never moves another consumer or renames its resources.

A consumer moved to another template is, to CloudFormation, a new queue, DLQ and idempotency
table: its queued messages are lost and its deduplication starts over. Each case builds the
same fan-out twice, changed in between, and compares every consumer both builds share.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from aws_cdk import CfnParameter, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from event_fanout import EventFanout, EventFanoutConfigError, FanoutConsumer
from tests.builders import ENV, new_app, new_function, new_stack

IDS = tuple(f"Consumer{i}" for i in range(12))


def _factory(scope: Construct) -> lambda_.Function:
    return new_function(scope, "Fn")


def _identity(consumer: FanoutConsumer) -> dict[str, Any]:
    """What CloudFormation keys a consumer's resources by: their stack, logical ids, names."""
    stack = Stack.of(consumer)
    resources = {
        "queue": consumer.queue,
        "dlq": consumer.dead_letter_queue,
        "rule": consumer.rule,
        "table": consumer.idempotency_table,
        "function": consumer.function,
    }
    logical_ids = {
        name: stack.get_logical_id(r.node.default_child)  # type: ignore[union-attr, arg-type]
        for name, r in resources.items()
    }
    return {
        "stack": stack.node.path,
        "logical_ids": logical_ids,
        "queue_name": stack.resolve(consumer.queue.queue_name),
        "dlq_name": stack.resolve(consumer.dead_letter_queue.queue_name),
        "rule_name": stack.resolve(consumer.rule.rule_name),
    }


@functools.cache
def _build(ids: tuple[str, ...], **fanout_props: Any) -> dict[str, dict[str, Any]]:
    """Each consumer's identity in a fan-out of ``ids`` (cached: the unchanged build repeats)."""
    stack = new_stack("Placement")
    fanout = EventFanout(stack, "Fanout", event_bus_name="placement", **fanout_props)
    for consumer_id in ids:
        fanout.add_consumer(
            consumer_id, handler=_factory, event_pattern=events.EventPattern(source=[consumer_id])
        )
    return {cid: _identity(c) for cid, c in fanout.consumers.items()}


CHANGES = {
    "remove_one": tuple(i for i in IDS if i != "Consumer3"),
    "insert_one": (*IDS[:5], "Inserted", *IDS[5:]),
    "reorder": tuple(reversed(IDS)),
    "remove_first_and_append": (*IDS[1:], "Appended"),
}


@pytest.mark.parametrize("shards", [None, 3])
@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_leaves_every_other_consumer_where_it_was(shards: int | None, change: str) -> None:
    before = _build(IDS, shards=shards)
    after = _build(CHANGES[change], shards=shards)
    shared = before.keys() & after.keys()
    assert len(shared) >= len(IDS) - 1
    assert {cid: after[cid] for cid in shared} == {cid: before[cid] for cid in shared}
    if shards is not None:
        assert len({identity["stack"] for identity in before.values()}) > 1  # really sharded


def test_filled_placement_moves_consumers_only_when_asked_to() -> None:
    """The order-based fill is still there, and does what the name of its switch says."""
    before = _build(IDS, allow_consumer_moves=True, consumers_per_stack=4)
    after = _build(CHANGES["remove_one"], allow_consumer_moves=True, consumers_per_stack=4)
    moved = [cid for cid in after if after[cid]["stack"] != before[cid]["stack"]]
    assert moved  # Consumer4 .. move up a stack


def test_fails_when_a_stack_would_overflow_and_names_the_fix() -> None:
    with pytest.raises(EventFanoutConfigError) as caught:
        _build(tuple(f"Consumer{i}" for i in range(30)))
    message = str(caught.value)
    assert "Placement/Fanout: consumer_id would take the fan-out's stack past resource_budget" in (
        message
    )
    assert "pass shards=N" in message
    assert "allow_consumer_moves=True" in message


def test_fails_when_a_shard_would_overflow_and_names_who_moves_with_one_more() -> None:
    with pytest.raises(EventFanoutConfigError, match=r"raise shards to 3; .*ConsumersShard3"):
        _build(tuple(f"Consumer{i}" for i in range(30)), shards=2, resource_budget=100)


def test_fails_when_a_consumer_in_a_shard_gets_a_function_of_the_parent_stack() -> None:
    stack = new_stack("Parent")
    fanout = EventFanout(stack, "Fanout", shards=2)
    with pytest.raises(EventFanoutConfigError) as caught:
        fanout.add_consumer(
            "Audit",
            handler=new_function(stack, "Fn"),
            event_pattern=events.EventPattern(source=["a"]),
        )
    message = str(caught.value)
    assert "Parent/Fanout: handler is defined in stack 'Parent'" in message
    assert "pass handler= a factory" in message


def test_fails_when_the_handler_is_defined_in_another_stack() -> None:
    app = new_app()
    functions = Stack(app, "Functions", env=ENV)
    consumers = Stack(app, "Consumers", env=ENV)
    fanout = EventFanout(consumers, "Fanout")
    with pytest.raises(EventFanoutConfigError, match="a cycle CloudFormation refuses"):
        fanout.add_consumer(
            "Audit",
            handler=new_function(functions, "Fn"),
            event_pattern=events.EventPattern(source=["a"]),
        )


@pytest.mark.parametrize("prop", ["consumers_per_stack", "resource_budget", "shards"])
def test_fails_when_a_placement_number_is_a_token(prop: str) -> None:
    stack = new_stack()
    token = CfnParameter(stack, "Count", type="Number").value_as_number
    with pytest.raises(EventFanoutConfigError, match=f"Test/Fanout: {prop} must be a literal int"):
        EventFanout(stack, "Fanout", **{prop: token})
