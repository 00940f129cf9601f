"""The fan-out itself: bus (new or imported), archive, undeliverable-events queue, consumers."""

from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template

from event_fanout import EventFanout
from tests.builders import new_function, new_stack, only
from tests.library.conftest import Built


def test_new_bus_with_its_name(built: Built) -> None:
    bus = only(built.template.find_resources("AWS::Events::EventBus"))
    assert bus["Name"] == "test-bus"


def test_archive_keeps_every_event_for_thirty_days_by_default(built: Built) -> None:
    archive = only(built.template.find_resources("AWS::Events::Archive"))
    assert archive["RetentionDays"] == 30
    assert archive["SourceArn"] == {"Fn::GetAtt": [built.logical_id(built.fanout.event_bus), "Arn"]}
    assert archive["EventPattern"] == {"account": [{"Ref": "AWS::AccountId"}]} or archive[
        "EventPattern"
    ] == {"account": ["123456789012"]}


def test_undeliverable_events_queue_is_encrypted_and_keeps_fourteen_days(built: Built) -> None:
    props = built.resource(built.fanout.undeliverable_events_queue)
    assert props["SqsManagedSseEnabled"] is True
    assert props["MessageRetentionPeriod"] == 14 * 86400
    assert "RedrivePolicy" not in props


def test_every_rule_of_the_bus_may_dead_letter_into_the_undeliverable_queue(built: Built) -> None:
    """One statement for all rules: one per rule would break SQS's 20-statement policy limit."""
    queue_id = built.logical_id(built.fanout.undeliverable_events_queue)
    policy = only(
        built.template.find_resources(
            "AWS::SQS::QueuePolicy", {"Properties": {"Queues": [{"Ref": queue_id}]}}
        )
    )
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    assert allows[0]["Action"] == "sqs:SendMessage"
    assert allows[0]["Principal"] == {"Service": "events.amazonaws.com"}
    pattern = allows[0]["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    bus_id = built.logical_id(built.fanout.event_bus)
    assert pattern[-3:] == [":123456789012:rule/", {"Ref": bus_id}, "/*"] or (
        {"Ref": bus_id} in pattern and pattern[-1].endswith("/*")
    )


def test_one_rule_per_consumer(built: Built) -> None:
    built.template.resource_count_is("AWS::Events::Rule", len(built.consumers))
    built.template.resource_count_is("AWS::Lambda::EventSourceMapping", len(built.consumers))


@pytest.fixture(scope="module")
def imported() -> Template:
    stack = new_stack("Imported")
    bus = events.EventBus.from_event_bus_name(stack, "Existing", "platform-events")
    fanout = EventFanout(stack, "Fanout", event_bus=bus, archive_retention=Duration.days(0))
    fanout.add_consumer(
        "Only", handler=new_function(stack, "Fn"), event_pattern=events.EventPattern(source=["x"])
    )
    return Template.from_stack(stack)


def test_imported_bus_is_attached_not_created(imported: Template) -> None:
    imported.resource_count_is("AWS::Events::EventBus", 0)
    rule = only(imported.find_resources("AWS::Events::Rule"))
    assert rule["EventBusName"] == "platform-events"


def test_zero_archive_retention_means_keep_forever(imported: Template) -> None:
    archive = only(imported.find_resources("AWS::Events::Archive"))
    assert archive.get("RetentionDays", 0) == 0  # EventBridge: 0 = indefinitely


def test_no_archive_when_retention_is_none() -> None:
    stack = new_stack("NoArchive")
    EventFanout(stack, "Fanout", archive_retention=None)
    Template.from_stack(stack).resource_count_is("AWS::Events::Archive", 0)


def test_a_consumer_past_the_rules_per_bus_quota_says_to_raise_it_or_use_a_second_bus() -> None:
    from aws_cdk import aws_events as events

    from event_fanout import EventFanout, EventFanoutConfigError
    from tests.builders import new_function, new_stack

    stack = new_stack()
    pattern = events.EventPattern(source=["shop.orders"])
    # A quota of 2 stands for EventBridge's 300 (300 consumers take a minute to build).
    fanout = EventFanout(stack, "Fanout", rules_per_bus_quota=2)
    for name in ("A", "B"):
        fanout.add_consumer(name, handler=new_function(stack, f"{name}Fn"), event_pattern=pattern)
    with pytest.raises(EventFanoutConfigError) as raised:
        fanout.add_consumer("C", handler=new_function(stack, "CFn"), event_pattern=pattern)
    message = str(raised.value)
    assert "Test/Fanout: consumers exceeds the quota of 2 rules per event bus" in message
    assert "Service Quotas" in message and "second bus" in message
    assert sorted(fanout.consumers) == ["A", "B"]


def test_the_default_quota_is_eventbridges_300_rules_per_bus() -> None:
    from event_fanout import EventFanout
    from tests.builders import new_stack

    assert EventFanout(new_stack(), "Fanout").rules_per_bus_quota == 300
