"""trouble_alarm=True: one composite alarm to page on, in ALARM while any consumer alarm is."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from constructs import Construct

from event_fanout import EventFanout
from tests.builders import new_function, new_stack

PATTERN = events.EventPattern(source=["shop.orders"])


def _composites(stack: Stack) -> list[dict[str, Any]]:
    resources = Template.from_stack(stack).to_json()["Resources"]
    return [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::CompositeAlarm"
    ]


def test_the_composite_alarm_watches_every_alarm_of_the_stack_and_pages() -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Pager")
    fanout = EventFanout(
        stack, "Fanout", trouble_alarm=True, alarm_actions=[cw_actions.SnsAction(topic)]
    )
    consumers = [
        fanout.add_consumer(name, handler=new_function(stack, f"{name}Fn"), event_pattern=PATTERN)
        for name in ("Billing", "Audit")
    ]
    (composite,) = _composites(stack)
    rule = json.dumps(composite["AlarmRule"])
    # Added after the fan-out, both consumers' seven alarms and the undeliverable-events alarm.
    assert rule.count("ALARM(") == 1 + 2 * 7
    for consumer in consumers:
        for alarm in consumer.alarms.resources.values():
            assert stack.get_logical_id(alarm) in rule
    assert composite["AlarmActions"] and composite["OKActions"]
    assert "event-fanout status" in composite["AlarmDescription"]


def test_each_shard_has_its_own_and_it_is_off_by_default() -> None:
    stack = new_stack()

    def factory(scope: Construct) -> Any:
        return new_function(scope, "Fn")

    fanout = EventFanout(stack, "Fanout", shards=2, trouble_alarm=True)
    for i in range(4):
        fanout.add_consumer(f"C{i}", handler=factory, event_pattern=PATTERN)
    assert len(_composites(stack)) == 1  # the undeliverable-events alarm's
    for shard in fanout.shards:
        (composite,) = _composites(shard)
        members = [c for c in fanout.consumers.values() if Stack.of(c) is shard]
        assert json.dumps(composite["AlarmRule"]).count("ALARM(") == 7 * len(members)
        assert "Outputs" not in Template.from_stack(shard).to_json()

    plain = new_stack("Plain")
    EventFanout(plain, "Fanout").add_consumer(
        "Billing", handler=new_function(plain, "Fn"), event_pattern=PATTERN
    )
    assert _composites(plain) == []
