"""A stack with several differently configured consumers, synthesized once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import CfnElement, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template

from event_fanout import EventFanout, FanoutConsumer, Idempotency
from tests.builders import new_function, new_stack, only

PATTERN = events.EventPattern(source=["ads.campaigns"])


@dataclass
class Built:
    stack: Stack
    template: Template
    consumers: dict[str, FanoutConsumer]
    fanout: EventFanout

    def logical_id(self, construct: Any) -> str:
        element = construct if isinstance(construct, CfnElement) else construct.node.default_child
        return self.stack.get_logical_id(element)

    def queue(self, name: str) -> dict[str, Any]:
        return self.resource(self.consumers[name].queue)

    def dlq(self, name: str) -> dict[str, Any]:
        return self.resource(self.consumers[name].dead_letter_queue)

    def resource(self, construct: Any) -> dict[str, Any]:
        props: dict[str, Any] = self.template.to_json()["Resources"][self.logical_id(construct)][
            "Properties"
        ]
        return props

    def mapping_of(self, name: str) -> dict[str, Any]:
        queue_id = self.logical_id(self.consumers[name].queue)
        return only(
            self.template.find_resources(
                "AWS::Lambda::EventSourceMapping",
                {"Properties": {"EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]}}},
            )
        )

    def env_of(self, name: str) -> dict[str, Any]:
        fn = self.consumers[name].function
        variables: dict[str, Any] = self.resource(fn)["Environment"]["Variables"]
        return variables


# (function timeout s or None for Lambda's default 3 s, batching window s, expected visibility s)
VISIBILITY_CASES = [
    (None, 0, 18),
    (30, 0, 180),
    (30, 20, 200),
    (60, 5, 365),
    (900, 300, 5700),
]


@pytest.fixture(scope="session")
def built() -> Built:
    stack = new_stack()
    shared_table = dynamodb.Table(
        stack,
        "SharedIdempotency",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        time_to_live_attribute="expiration",
    )
    fanout = EventFanout(stack, "Fanout", event_bus_name="test-bus")
    consumers: dict[str, FanoutConsumer] = {}

    def add(name: str, timeout: int | None = 30, **props: Any) -> None:
        fn = new_function(
            stack, f"{name}Fn", timeout=Duration.seconds(timeout) if timeout else None
        )
        props.setdefault("event_pattern", PATTERN)
        consumers[name] = fanout.add_consumer(name, handler=fn, **props)

    add("Plain")
    for timeout, window, _ in VISIBILITY_CASES:
        add(
            f"Vis{timeout}x{window}",
            timeout=timeout,
            max_batching_window=Duration.seconds(window) if window else None,
        )
    add("Batched", batch_size=500, max_batching_window=Duration.seconds(20), max_concurrency=20)
    add(
        "Custom",
        max_receive_count=3,
        retention_period=Duration.days(2),
        dead_letter_retention_period=Duration.days(7),
        retry_attempts=10,
        max_event_age=Duration.hours(1),
        max_message_age=Duration.minutes(10),
        idempotency=Idempotency(
            key_path="[detail.campaignId, detail.version]",
            expires_after=Duration.hours(48),
            payload_validation_path="detail.newBudget",
        ),
    )
    add("Fifo", fifo=True, message_group_id="budgets")
    add("ExplicitVisibility", visibility_timeout=Duration.seconds(45))
    add("NoIdempotency", idempotency=None)
    add("SharedTable", idempotency=Idempotency(existing_table=shared_table))
    return Built(stack, Template.from_stack(stack), consumers, fanout)
