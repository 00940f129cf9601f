"""Each consumer's alarms: which metric, which statistic, which threshold, where they notify."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from aws_cdk.aws_cloudwatch_actions import LambdaAction, SnsAction

from event_fanout import EventFanout
from event_fanout.runtime import constants
from tests.builders import new_function, new_stack, only
from tests.library.conftest import Built


def _alarm(built: Built, alarm: cloudwatch.Alarm | cloudwatch.CfnAlarm) -> dict[str, Any]:
    return built.resource(alarm)


def _dimension(props: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in props["Dimensions"]}


def test_each_consumer_has_seven_alarms(built: Built) -> None:
    for consumer in built.consumers.values():
        assert len(consumer.alarms.all) == 7
    # + the fan-out's undeliverable-events alarm
    built.template.resource_count_is("AWS::CloudWatch::Alarm", 7 * len(built.consumers) + 1)


def test_dlq_depth_alarm_on_visible_messages(built: Built) -> None:
    consumer = built.consumers["Plain"]
    props = _alarm(built, consumer.alarms.resources["dead_letter_queue_depth"])
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
    props = _alarm(built, consumer.alarms.resources["oldest_message_age"])
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
    alarm = consumer.alarms.resources[
        "function_errors" if metric == "Errors" else "function_throttles"
    ]
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
    props = _alarm(built, consumer.alarms.resources["rule_failed_invocations"])
    assert props["Namespace"] == "AWS/Events"
    assert props["MetricName"] == "FailedInvocations"
    assert props["Statistic"] == "Sum"
    assert props["Threshold"] == 1
    assert _dimension(props) == {
        "EventBusName": {"Ref": built.logical_id(built.fanout.event_bus)},
        "RuleName": {"Ref": built.logical_id(consumer.rule)},
    }


def test_failed_records_alarm_reads_the_runtimes_failed_metric(built: Built) -> None:
    # A record the runtime reports failed is not a Lambda error: Errors never sees it.
    consumer = built.consumers["Plain"]
    props = _alarm(built, consumer.alarms.resources["failed_records"])
    assert props["Namespace"] == constants.DEFAULT_METRICS_NAMESPACE
    assert props["MetricName"] == constants.METRIC_FAILED
    assert props["Statistic"] == "Sum"
    assert props["Threshold"] == 1
    assert props["TreatMissingData"] == "notBreaching"
    # The dimensions the runtime writes: the metrics service the function is given, the consumer.
    env = built.env_of("Plain")
    assert _dimension(props) == {
        "service": env[constants.ENV_METRICS_SERVICE],
        constants.METRIC_DIMENSION_CONSUMER: env[constants.ENV_CONSUMER_NAME],
    }


def test_events_dropped_alarm_on_invocations_failed_to_be_sent_to_dlq(built: Built) -> None:
    consumer = built.consumers["Plain"]
    props = _alarm(built, consumer.alarms.resources["events_dropped"])
    assert props["Namespace"] == "AWS/Events"
    assert props["MetricName"] == "InvocationsFailedToBeSentToDlq"
    assert props["Statistic"] == "Sum"
    assert props["Threshold"] == 1
    assert _dimension(props) == {
        "EventBusName": {"Ref": built.logical_id(built.fanout.event_bus)},
        "RuleName": {"Ref": built.logical_id(consumer.rule)},
    }
    assert "lost" in props["AlarmDescription"]


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
    assert targets == {shared_id: 7 + 1, own_id: 7}


def test_alarms_serve_composite_alarms_and_dashboards() -> None:
    stack = new_stack("Views")
    fanout = EventFanout(stack, "Fanout")
    consumer = fanout.add_consumer(
        "A", handler=new_function(stack, "Fn"), event_pattern=events.EventPattern(source=["a"])
    )
    alarms = consumer.alarms
    assert alarms.all == (
        alarms.dead_letter_queue_depth,
        alarms.oldest_message_age,
        alarms.function_errors,
        alarms.function_throttles,
        alarms.rule_failed_invocations,
        alarms.failed_records,
        alarms.events_dropped,
    )
    cloudwatch.CompositeAlarm(
        stack,
        "Losing",
        alarm_rule=cloudwatch.AlarmRule.any_of(
            *(cloudwatch.AlarmRule.from_alarm(a, cloudwatch.AlarmState.ALARM) for a in alarms.all)
        ),
    )
    user_board = cloudwatch.Dashboard(stack, "Board")
    user_board.add_widgets(cloudwatch.AlarmWidget(alarm=alarms.oldest_message_age, title="lag"))
    template = Template.from_stack(stack)
    rule = only(template.find_resources("AWS::CloudWatch::CompositeAlarm"))
    rendered = json.dumps(rule["AlarmRule"])
    for attribute, resource in alarms.resources.items():
        logical_id = stack.get_logical_id(resource)
        assert json.dumps({"Fn::GetAtt": [logical_id, "Arn"]}) in rendered, attribute
    dashboards = template.find_resources("AWS::CloudWatch::Dashboard")
    board = json.dumps(dashboards[stack.get_logical_id(user_board.node.default_child)])  # type: ignore[arg-type]
    assert stack.get_logical_id(alarms.resources["oldest_message_age"]) in board


#: What `cdk init` sets in new apps: LambdaAction names each permission after its alarm's id.
LAMBDA_PERMISSION_ID_FLAG = (
    "@aws-cdk/aws-cloudwatch-actions:changeLambdaPermissionLogicalIdForLambdaAction"
)


@pytest.mark.parametrize(
    ("context", "unique_ids"),
    [
        pytest.param({LAMBDA_PERMISSION_ID_FLAG: True}, False, id="new-app-flag"),
        pytest.param({}, True, id="use_unique_permission_id"),
    ],
)
def test_a_lambda_action_shared_by_consumers_is_permitted_for_each_alarm(
    context: dict[str, Any], unique_ids: bool
) -> None:
    """One Lambda action for the whole fan-out: a permission per alarm, of every consumer."""
    stack = new_stack("LambdaActions", context)
    responder = new_function(stack, "Responder")
    fanout = EventFanout(
        stack,
        "Fanout",
        alarm_actions=[LambdaAction(responder, use_unique_permission_id=unique_ids)],
    )
    consumers = [
        fanout.add_consumer(
            name,
            handler=new_function(stack, f"{name}Fn"),
            event_pattern=events.EventPattern(source=[name]),
        )
        for name in ("A", "B")
    ]
    template = Template.from_stack(stack)
    responder_id = stack.get_logical_id(responder.node.default_child)  # type: ignore[arg-type]
    permissions = template.find_resources(
        "AWS::Lambda::Permission",
        {"Properties": {"Principal": "lambda.alarms.cloudwatch.amazonaws.com"}},
    )
    sources = {json.dumps(p["Properties"]["SourceArn"]) for p in permissions.values()}
    for consumer in consumers:
        for attribute, resource in consumer.alarms.resources.items():
            alarm_arn = json.dumps({"Fn::GetAtt": [stack.get_logical_id(resource), "Arn"]})
            assert alarm_arn in sources, (consumer.node.id, attribute)
            props = template.to_json()["Resources"][stack.get_logical_id(resource)]["Properties"]
            assert props["AlarmActions"] == props["OKActions"]
            (action,) = props["AlarmActions"]
            assert json.dumps(action).count(responder_id) == 1, attribute


def test_add_actions_appends_to_every_consumer_alarm() -> None:
    stack = new_stack("MoreActions")
    first, second = sns.Topic(stack, "First"), sns.Topic(stack, "Second")
    fanout = EventFanout(stack, "Fanout", alarm_actions=[SnsAction(first)])
    consumer = fanout.add_consumer(
        "A", handler=new_function(stack, "Fn"), event_pattern=events.EventPattern(source=["a"])
    )
    consumer.alarms.add_actions(SnsAction(second))
    resources = Template.from_stack(stack).to_json()["Resources"]
    expected = [
        {"Ref": stack.get_logical_id(topic.node.default_child)}  # type: ignore[arg-type]
        for topic in (first, second)
    ]
    for attribute, resource in consumer.alarms.resources.items():
        props = resources[stack.get_logical_id(resource)]["Properties"]
        assert props["AlarmActions"] == expected, attribute
        assert props["OKActions"] == expected, attribute


def test_add_actions_to_chosen_alarms_and_names_unknown_ones() -> None:
    stack = new_stack("Paging")
    pager = sns.Topic(stack, "Pager")
    fanout = EventFanout(stack, "Fanout")
    consumer = fanout.add_consumer(
        "A", handler=new_function(stack, "Fn"), event_pattern=events.EventPattern(source=["a"])
    )
    consumer.alarms.add_actions(SnsAction(pager), alarms=["dead_letter_queue_depth"])
    with pytest.raises(ValueError, match=r"Paging/Fanout/.*A/Alarms.*'dlq_depth'.*use any of"):
        consumer.alarms.add_actions(SnsAction(pager), alarms=["dlq_depth"])
    resources = Template.from_stack(stack).to_json()["Resources"]
    paged = {
        attribute
        for attribute, resource in consumer.alarms.resources.items()
        if "AlarmActions" in resources[stack.get_logical_id(resource)]["Properties"]
    }
    assert paged == {"dead_letter_queue_depth"}
