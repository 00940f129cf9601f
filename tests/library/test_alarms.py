"""Each consumer's alarms: which metric, which statistic, which threshold, where they notify."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from aws_cdk.aws_cloudwatch_actions import SnsAction

from event_fanout import EventFanout
from tests.builders import new_function, new_stack
from tests.library.conftest import Built


def _alarm(built: Built, alarm: cloudwatch.Alarm) -> dict[str, Any]:
    return built.resource(alarm)


def _dimension(props: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in props["Dimensions"]}


def test_each_consumer_has_five_alarms(built: Built) -> None:
    for consumer in built.consumers.values():
        assert len(consumer.alarms.all) == 5
    # + the fan-out's undeliverable-events alarm
    built.template.resource_count_is("AWS::CloudWatch::Alarm", 5 * len(built.consumers) + 1)


def test_dlq_depth_alarm_on_visible_messages(built: Built) -> None:
    consumer = built.consumers["Plain"]
    props = _alarm(built, consumer.alarms.dead_letter_queue_depth)
    assert props["Namespace"] == "AWS/SQS"
    assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert props["Statistic"] == "Maximum"
    assert props["Period"] == 60
    assert props["Threshold"] == 1
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["TreatMissingData"] == "notBreaching"
    assert _dimension(props) == {
        "QueueName": {"Fn::GetAtt": [built.logical_id(consumer.dead_letter_queue), "QueueName"]}
    }


@pytest.mark.parametrize(("name", "seconds"), [("Plain", 300), ("Custom", 600)])
def test_oldest_message_age_alarm_uses_max_message_age(
    built: Built, name: str, seconds: int
) -> None:
    consumer = built.consumers[name]
    props = _alarm(built, consumer.alarms.oldest_message_age)
    assert props["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert props["Statistic"] == "Maximum"
    assert props["Threshold"] == seconds
    assert props["TreatMissingData"] == "notBreaching"
    assert _dimension(props) == {
        "QueueName": {"Fn::GetAtt": [built.logical_id(consumer.queue), "QueueName"]}
    }


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_function_alarms(built: Built, metric: str) -> None:
    consumer = built.consumers["Plain"]
    alarm = (
        consumer.alarms.function_errors
        if metric == "Errors"
        else consumer.alarms.function_throttles
    )
    props = _alarm(built, alarm)
    assert props["Namespace"] == "AWS/Lambda"
    assert props["MetricName"] == metric
    assert props["Statistic"] == "Sum"
    assert props["Threshold"] == 1
    assert props["Period"] == 300
    assert props["TreatMissingData"] == "notBreaching"
    assert _dimension(props) == {"FunctionName": {"Ref": built.logical_id(consumer.function)}}


def test_rule_failed_invocations_alarm(built: Built) -> None:
    consumer = built.consumers["Plain"]
    props = _alarm(built, consumer.alarms.rule_failed_invocations)
    assert props["Namespace"] == "AWS/Events"
    assert props["MetricName"] == "FailedInvocations"
    assert props["Statistic"] == "Sum"
    assert props["Threshold"] == 1
    assert _dimension(props) == {
        "EventBusName": {"Ref": built.logical_id(built.fanout.event_bus)},
        "RuleName": {"Ref": built.logical_id(consumer.rule)},
    }


def test_undeliverable_events_alarm(built: Built) -> None:
    props = _alarm(built, built.fanout.undeliverable_events_alarm)
    assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert props["Threshold"] == 1
    assert _dimension(props) == {
        "QueueName": {
            "Fn::GetAtt": [built.logical_id(built.fanout.undeliverable_events_queue), "QueueName"]
        }
    }


def test_no_actions_unless_configured(built: Built) -> None:
    for alarm in built.template.find_resources("AWS::CloudWatch::Alarm").values():
        assert "AlarmActions" not in alarm["Properties"]


def test_fanout_actions_reach_every_alarm_and_consumer_override_wins() -> None:
    stack = new_stack("Actions")
    shared = sns.Topic(stack, "Shared")
    own = sns.Topic(stack, "Own")
    fanout = EventFanout(stack, "Fanout", alarm_actions=[SnsAction(shared)])
    pattern = events.EventPattern(source=["a"])
    fanout.add_consumer("A", handler=new_function(stack, "FnA"), event_pattern=pattern)
    fanout.add_consumer(
        "B",
        handler=new_function(stack, "FnB"),
        event_pattern=pattern,
        alarm_actions=[SnsAction(own)],
    )
    template = Template.from_stack(stack).to_json()["Resources"]
    shared_id = stack.get_logical_id(shared.node.default_child)  # type: ignore[arg-type]
    own_id = stack.get_logical_id(own.node.default_child)  # type: ignore[arg-type]
    targets: dict[str, int] = {}
    for logical_id, resource in template.items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        assert props["AlarmActions"] == props["OKActions"], logical_id
        (action,) = props["AlarmActions"]
        targets[action["Ref"]] = targets.get(action["Ref"], 0) + 1
    assert targets == {shared_id: 5 + 1, own_id: 5}
