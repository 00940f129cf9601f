"""Another team's app: two buses, several consumers, a standalone consumer, one synth."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from aws_cdk.aws_cloudwatch_actions import SnsAction

from event_fanout import EventFanout, FanoutConsumer, Idempotency
from tests.builders import ENV, new_app, new_function
from tests.template_checks import cfn_lint


class OrdersStack(Stack):
    """What a platform team writes: orders and payments buses, each with its own consumers."""

    def __init__(self, scope: App, construct_id: str) -> None:
        super().__init__(scope, construct_id, env=ENV)
        pager = SnsAction(sns.Topic(self, "Pager"))
        self.orders = EventFanout(self, "Orders", event_bus_name="orders", alarm_actions=[pager])
        self.payments = EventFanout(
            self, "Payments", event_bus_name="payments", archive_retention=None
        )
        placed = events.EventPattern(source=["shop.orders"], detail_type=["OrderPlaced"])
        for name in ("Fulfilment", "Analytics", "Email"):
            self.orders.add_consumer(
                name,
                handler=new_function(self, f"{name}Fn"),  # type: ignore[arg-type]
                event_pattern=placed,
            )
        self.payments.add_consumer(
            "Ledger",
            handler=new_function(self, "LedgerFn", timeout=Duration.minutes(2)),  # type: ignore[arg-type]
            event_pattern=events.EventPattern(source=["shop.payments"]),
            fifo=True,
            message_group_id="ledger",
            idempotency=Idempotency(key_path="detail.paymentId"),
        )
        # a consumer on the default bus, without a fan-out around it
        self.legacy = FanoutConsumer(
            self,
            "Legacy",
            event_bus=events.EventBus.from_event_bus_name(self, "Default", "default"),
            handler=new_function(self, "LegacyFn"),  # type: ignore[arg-type]
            event_pattern=events.EventPattern(source=["legacy.app"]),
        )


@pytest.fixture(scope="module")
def composed() -> tuple[OrdersStack, dict[str, Any]]:
    app = new_app()
    stack = OrdersStack(app, "Orders")
    return stack, Template.from_stack(stack).to_json()


def _count(template: dict[str, Any], type_: str) -> int:
    return sum(r["Type"] == type_ for r in template["Resources"].values())


def test_two_buses_and_every_consumer_with_its_own_parts(
    composed: tuple[OrdersStack, dict[str, Any]],
) -> None:
    _, template = composed
    consumers = 3 + 1 + 1
    assert _count(template, "AWS::Events::EventBus") == 2
    assert _count(template, "AWS::Events::Rule") == consumers
    assert _count(template, "AWS::Lambda::EventSourceMapping") == consumers
    assert _count(template, "AWS::DynamoDB::Table") == consumers
    # two queues per consumer + one undeliverable-events queue per fan-out and standalone consumer
    assert _count(template, "AWS::SQS::Queue") == 2 * consumers + 3


def test_rules_land_on_their_own_bus(composed: tuple[OrdersStack, dict[str, Any]]) -> None:
    stack, template = composed
    for fanout in (stack.orders, stack.payments):
        bus_id = stack.get_logical_id(fanout.event_bus.node.default_child)  # type: ignore[arg-type]
        for consumer in fanout.consumers.values():
            rule_id = stack.get_logical_id(consumer.rule.node.default_child)  # type: ignore[arg-type]
            assert template["Resources"][rule_id]["Properties"]["EventBusName"] == {"Ref": bus_id}
    legacy_rule = stack.get_logical_id(stack.legacy.rule.node.default_child)  # type: ignore[arg-type]
    assert template["Resources"][legacy_rule]["Properties"]["EventBusName"] == "default"


def test_queue_names_are_unique_across_fanouts(
    composed: tuple[OrdersStack, dict[str, Any]],
) -> None:
    _, template = composed
    names = [
        r["Properties"]["QueueName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SQS::Queue" and "QueueName" in r["Properties"]
    ]
    assert len(names) == 5
    assert len(set(names)) == 5


def test_standalone_consumer_keeps_its_own_undeliverable_queue(
    composed: tuple[OrdersStack, dict[str, Any]],
) -> None:
    stack, _ = composed
    own = stack.legacy.node.try_find_child("UndeliverableEvents")
    assert own is not None
    assert stack.legacy.target_dead_letter_queue is own


def test_composed_template_passes_cfn_lint(composed: tuple[OrdersStack, dict[str, Any]]) -> None:
    _, template = composed
    assert cfn_lint(template) == []
