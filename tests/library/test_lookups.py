"""The caches that save jsii round trips answer for the object they were asked about, only.

Each cache is keyed by what its answer depends on: a stack (the EventBridge principal), a queue
(its ARN), the JavaScript object behind a proxy (a runtime's name, a Duration's seconds). These
tests build look-alikes (two stacks, two apps, a runtime with the same name, equal Durations)
that a wrongly keyed cache would confuse.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Duration, Environment, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from constructs import Construct

from event_fanout import EventFanout
from event_fanout.constructs.lookups import (
    architecture_name,
    events_principal,
    human_duration,
    jsii_identity,
    queue_arn_of,
    runtime_facts,
)
from event_fanout.constructs.validation import seconds_of
from tests.builders import new_app, new_function, new_stack


def test_events_principal_is_one_per_stack() -> None:
    app = App()
    stack, other_stack = Stack(app, "A"), Stack(app, "B")
    principal = events_principal(stack)
    assert events_principal(Construct(stack, "Inner")) is principal
    assert events_principal(other_stack) is not principal
    assert events_principal(Stack(App(), "A")) is not principal  # same path, another app
    assert principal.service == "events.amazonaws.com"


def test_queue_arn_is_read_once_per_queue() -> None:
    stack = new_stack()
    first, second = sqs.Queue(stack, "First"), sqs.Queue(stack, "Second")
    arn = queue_arn_of(first)
    assert queue_arn_of(first) == arn == first.queue_arn
    assert queue_arn_of(second) == second.queue_arn != arn


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


def test_architecture_name_per_architecture() -> None:
    stack = new_stack()
    arm = new_function(stack, "Arm").architecture
    x86 = new_function(stack, "X86", architecture=lambda_.Architecture.X86_64).architecture
    assert architecture_name(arm) == "arm64"
    assert architecture_name(x86) == "x86_64"
    assert architecture_name(arm) == "arm64"


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
    assert human_duration(Duration.minutes(5)) == "5 minutes"
    assert human_duration(Duration.hours(2)) == "2 hours"


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
