"""The fan-out's dashboards: a header, then a row per consumer, lag first; split, never failing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template
from constructs import Construct

from event_fanout import EventFanout, EventFanoutConfigError
from event_fanout.constructs import dashboard as dashboard_module
from tests.builders import new_function, new_stack

PATTERN = events.EventPattern(source=["shop.orders"])
TOKEN = "<token>"


def _bodies(stack: Stack) -> dict[str, dict[str, Any]]:
    """Dashboard logical id -> its body, CloudFormation tokens replaced by a marker."""
    bodies = {}
    for logical_id, resource in Template.from_stack(stack).to_json()["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Dashboard":
            continue
        body = resource["Properties"]["DashboardBody"]
        parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
        bodies[logical_id] = json.loads("".join(p if isinstance(p, str) else TOKEN for p in parts))
    return bodies


def test_a_header_then_one_full_row_per_consumer_lag_first() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout", dashboard_name="orders")
    for name in ("Billing", "Audit"):
        fanout.add_consumer(name, handler=new_function(stack, f"{name}Fn"), event_pattern=PATTERN)

    (body,) = _bodies(stack).values()
    widgets = body["widgets"]
    header, rows = widgets[:3], widgets[3:]
    assert header[0]["type"] == "alarm"
    # Every alarm of the stack: the undeliverable-events alarm and both consumers' seven.
    assert len(header[0]["properties"]["alarms"]) == 1 + 2 * 7
    assert "MatchedEvents" in json.dumps(header[1]) and "Invocations" in json.dumps(header[1])
    assert "ApproximateNumberOfMessagesVisible" in json.dumps(header[2])
    assert len(rows) == 2 * 8
    for index, name in enumerate(("Billing", "Audit")):
        row = rows[index * 8 : index * 8 + 8]
        assert sum(w["width"] for w in row) == 24 and len({w["y"] for w in row}) == 1
        assert [w["properties"]["title"].split(": ")[0] for w in row] == [name] * 8
        lag, waiting, keeping_up, drain, dlq, records, function, delivery = row
        assert "ApproximateAgeOfOldestMessage" in json.dumps(lag)
        # The lag against its alarm's threshold (max_message_age, 5 minutes).
        (annotation,) = lag["properties"]["annotations"]["horizontal"]
        assert annotation["value"] == 300
        assert "ApproximateNumberOfMessagesNotVisible" in json.dumps(waiting)
        assert "NumberOfMessagesSent" in json.dumps(keeping_up)
        assert "NumberOfMessagesDeleted" in json.dumps(keeping_up)
        assert "visible / (deleted / PERIOD(deleted))" in json.dumps(drain)
        assert "ApproximateNumberOfMessagesVisible" in json.dumps(dlq)
        for metric in ("Processed", "Duplicate", "Failed"):
            assert f'"{metric}"' in json.dumps(records)
        for metric in ("Errors", "Throttles", "ConcurrentExecutions", "Duration", "p99"):
            assert metric in json.dumps(function)
        assert "FailedInvocations" in json.dumps(delivery)
        assert "InvocationsFailedToBeSentToDlq" in json.dumps(delivery)
    names = [
        r["Properties"].get("DashboardName")
        for r in Template.from_stack(stack).to_json()["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    assert names == ["orders"]


def test_each_shard_gets_its_own_dashboard_reading_only_its_own_resources() -> None:
    stack = new_stack()

    def factory(scope: Construct) -> Any:
        return new_function(scope, "Fn")

    fanout = EventFanout(stack, "Fanout", shards=2, dashboard_name="orders")
    for i in range(6):
        fanout.add_consumer(f"C{i}", handler=factory, event_pattern=PATTERN)
    dashboards = fanout.dashboards.dashboards if fanout.dashboards else []
    assert len(dashboards) == 3  # the fan-out's (header) and one per shard
    for shard in fanout.shards:
        (body,) = _bodies(shard).values()
        consumers = {
            w["properties"]["title"].split(": ")[0]
            for w in body["widgets"][1:]
            if "title" in w["properties"]
        }
        assert consumers == {
            c for c, consumer in fanout.consumers.items() if Stack.of(consumer) is shard
        }
        template = Template.from_stack(shard).to_json()
        assert "Outputs" not in template  # no cross-stack reference from the parent's dashboard


def test_past_its_limit_a_stacks_dashboard_continues_in_a_second_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A stack holds about 27 consumers (500 resources); the limit is lowered to see the split.
    monkeypatch.setattr(dashboard_module, "CONSUMERS_PER_DASHBOARD", 2)
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout", dashboard_name="big")
    for i in range(3):
        fanout.add_consumer(f"C{i}", handler=new_function(stack, f"Fn{i}"), event_pattern=PATTERN)
    bodies = list(_bodies(stack).values())
    assert [len(b["widgets"]) for b in bodies] == [3 + 2 * 8, 1 + 8]
    names = sorted(d.node.id for d in fanout.dashboards.dashboards) if fanout.dashboards else []
    assert names == ["Dashboard", "Dashboard2"]


def test_the_dashboard_can_be_turned_off() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout", dashboard=False)
    fanout.add_consumer("Billing", handler=new_function(stack, "Fn"), event_pattern=PATTERN)
    assert fanout.dashboards is None and _bodies(stack) == {}


@pytest.mark.parametrize(
    ("props", "prop"),
    [({"dashboard_name": "no spaces"}, "dashboard_name"), ({"dashboard": "yes"}, "dashboard")],
)
def test_invalid_dashboard_arguments_fail_at_synth(props: dict[str, Any], prop: str) -> None:
    with pytest.raises(EventFanoutConfigError, match=f"Test/Fanout: {prop} "):
        EventFanout(new_stack(), "Fanout", **props)


def test_every_consumer_alarm_links_the_dashboard_it_is_shown_on() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    consumer = fanout.add_consumer(
        "Billing", handler=new_function(stack, "Fn"), event_pattern=PATTERN
    )
    resources = Template.from_stack(stack).to_json()["Resources"]
    (dashboard,) = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    assert dashboard["Properties"]["DashboardName"] == fanout.name  # known at synth: no cycle
    for alarm in consumer.alarms.resources.values():
        description = json.dumps(resources[stack.get_logical_id(alarm)]["Properties"])
        assert "First:" in description  # what to do, then where to look
        assert f"#dashboards:name={fanout.name}" in description


@pytest.mark.parametrize(
    ("region", "link"),
    [
        ("eu-west-1", "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#"),
        ("cn-north-1", "https://console.amazonaws.cn/cloudwatch/home?region=cn-north-1#"),
        (
            "us-gov-west-1",
            "https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#",
        ),
        # A partition whose console this library does not know: the name, and no wrong address.
        ("us-iso-east-1", "Dashboard: orders (CloudWatch, us-iso-east-1)"),
    ],
)
def test_the_link_is_to_the_console_of_the_stacks_partition(region: str, link: str) -> None:
    from aws_cdk import App, Environment

    stack = Stack(App(), "Test", env=Environment(account="123456789012", region=region))
    fanout = EventFanout(stack, "Fanout", dashboard_name="orders")
    consumer = fanout.add_consumer(
        "Billing",
        handler=new_function(stack, "Fn"),
        event_pattern=PATTERN,
        attach_runtime_layers=region != "us-iso-east-1",  # no Powertools layer in aws-iso
    )
    resources = Template.from_stack(stack).to_json()["Resources"]
    for alarm in consumer.alarms.resources.values():
        assert link in resources[stack.get_logical_id(alarm)]["Properties"]["AlarmDescription"]


def test_an_environment_agnostic_stack_links_the_console_of_where_it_deploys() -> None:
    from aws_cdk import App

    stack = Stack(App(), "Test")
    fanout = EventFanout(stack, "Fanout", dashboard_name="orders")
    consumers = [
        fanout.add_consumer(name, handler=new_function(stack, f"{name}Fn"), event_pattern=PATTERN)
        for name in ("Billing", "Audit")
    ]
    template = Template.from_stack(stack).to_json()
    # One condition per non-commercial partition, shared by every alarm of the stack.
    assert template["Conditions"] == {
        "EventFanoutInAwsUsGov": {"Fn::Equals": [{"Ref": "AWS::Partition"}, "aws-us-gov"]},
        "EventFanoutInAwsCn": {"Fn::Equals": [{"Ref": "AWS::Partition"}, "aws-cn"]},
    }
    lag = consumers[1].alarms.oldest_message_age
    alarm = template["Resources"][stack.get_logical_id(lag.node.default_child)]
    description = json.dumps(alarm["Properties"]["AlarmDescription"])
    assert '{"Ref": "AWS::Region"}' in description
    assert (
        '{"Fn::If": ["EventFanoutInAwsCn", "console.amazonaws.cn", {"Fn::If": '
        '["EventFanoutInAwsUsGov", "console.amazonaws-us-gov.com", "console.aws.amazon.com"]}]}'
    ) in description
