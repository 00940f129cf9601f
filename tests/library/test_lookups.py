"""The caches that save jsii round trips answer for the object they were asked about, only.

Each cache is keyed by what its answer depends on: a scope (its stack's facts), the JavaScript
object behind a proxy (a runtime's name, a Duration's seconds). These tests build look-alikes
(two stacks, two apps, a runtime with the same name, equal Durations) that a wrongly keyed
cache would confuse.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Duration, Environment, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from constructs import Construct

from event_fanout import EventFanout
from event_fanout.constructs.lookups import jsii_identity, runtime_facts, seconds_of, stack_facts
from tests.builders import new_app, new_function, new_stack


def test_stack_facts_are_per_scope_and_app() -> None:
    app = App()
    eu = Stack(app, "A", env=Environment(account="111111111111", region="eu-west-1"))
    us = Stack(app, "B", env=Environment(account="222222222222", region="us-east-1"))
    assert stack_facts(Construct(eu, "Inner")).stack is eu
    assert (stack_facts(eu).region, stack_facts(eu).account) == ("eu-west-1", "111111111111")
    assert (stack_facts(us).region, stack_facts(us).account) == ("us-east-1", "222222222222")
    other_app = Stack(App(), "A", env=Environment(account="333333333333", region="eu-west-1"))
    assert stack_facts(other_app).account == "333333333333"  # same path, another app


def test_runtime_facts_follow_the_javascript_object_not_the_name() -> None:
    stack = new_stack()
    python = new_function(stack, "Python").runtime  # a fresh proxy of Runtime.PYTHON_3_14
    assert runtime_facts(python).name == "python3.14"
    assert runtime_facts(python).family == lambda_.RuntimeFamily.PYTHON
    # Same name, no family: a cache keyed by name would call it Python.
    unnamed_family = lambda_.Runtime("python3.14")
    assert runtime_facts(unnamed_family).family is None
    node = new_function(stack, "Node", runtime=lambda_.Runtime.NODEJS_20_X).runtime
    assert runtime_facts(node) == runtime_facts(lambda_.Runtime.NODEJS_20_X)
    assert runtime_facts(node).family == lambda_.RuntimeFamily.NODEJS


def test_duration_answers_are_per_duration() -> None:
    stack = new_stack()
    thirty, forty_five = Duration.seconds(30), Duration.seconds(45)
    function = new_function(stack, "Fn", timeout=thirty)
    assert seconds_of(thirty) == 30
    assert seconds_of(forty_five) == 45
    assert seconds_of(function.timeout) == 30  # another proxy of the same Duration
    assert seconds_of(Duration.minutes(2)) == 120
    token = Duration.seconds(Token.as_number({"Ref": "Seconds"}))
    assert seconds_of(token) is None
    assert seconds_of(token) is None


def test_jsii_identity_is_the_javascript_object() -> None:
    stack = new_stack()
    function = new_function(stack, "Fn")
    assert jsii_identity(function.runtime) == jsii_identity(function.runtime)
    assert function.runtime is not function.runtime  # why Python identity cannot be the key
    assert jsii_identity(Duration.seconds(1)) != jsii_identity(Duration.seconds(1))
    assert jsii_identity(object()) is None


def _send_statements(template: Template) -> list[dict[str, Any]]:
    statements = []
    for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Principal") == {"Service": "events.amazonaws.com"}:
                statements.append(statement)
    return statements


def test_fanouts_in_two_apps_each_admit_their_own_rules() -> None:
    """Built one after the other in one process, as tests and multi-app scripts do."""
    for region in ("eu-west-1", "us-east-1"):
        stack = Stack(new_app(), "Stack", env=Environment(account="123456789012", region=region))
        fanout = EventFanout(stack, "Fanout", event_bus_name="bus")
        fanout.add_consumer(
            "Consumer",
            handler=new_function(stack),
            event_pattern=events.EventPattern(source=["a"]),
        )
        template = Template.from_stack(stack)
        queues = set(template.find_resources("AWS::SQS::Queue"))
        (rule,) = template.find_resources("AWS::Events::Rule")
        (bus,) = template.find_resources("AWS::Events::EventBus")
        statements = _send_statements(template)
        assert len(statements) == 2  # the consumer's queue, and the undeliverable-events queue
        for statement in statements:
            assert statement["Resource"]["Fn::GetAtt"][0] in queues
        conditions = [statement["Condition"] for statement in statements]
        assert {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule, "Arn"]}}} in conditions
        (like,) = [c["ArnLike"]["aws:SourceArn"] for c in conditions if "ArnLike" in c]
        assert like["Fn::Join"][1][2:] == [
            f":events:{region}:123456789012:rule/",
            {"Ref": bus},
            "/*",
        ]
