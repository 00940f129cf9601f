"""The manifest entries the operating tools read (``constructs/manifest.py``): a contract.

``event-fanout status``, ``dlq``, ``redrive`` and ``replay`` find everything through these
entries, so each must name resources that exist, of the right type, in its own template.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template
from constructs import Construct

from event_fanout import EventFanout, FanoutConsumer
from event_fanout.manifest_format import MANIFEST_KEY, MANIFEST_VERSION
from tests.builders import new_function, new_stack

PATTERN = events.EventPattern(source=["shop.orders"])

#: Entry field -> the resource type its logical id must name.
CONSUMER_TYPES = {
    "queue": "AWS::SQS::Queue",
    "deadLetterQueue": "AWS::SQS::Queue",
    "rule": "AWS::Events::Rule",
    "function": "AWS::Lambda::Function",
    "idempotencyTable": "AWS::DynamoDB::Table",
}
FANOUT_TYPES = {
    "bus": "AWS::Events::EventBus",
    "archive": "AWS::Events::Archive",
    "undeliverableEventsQueue": "AWS::SQS::Queue",
    "undeliverableEventsAlarm": "AWS::CloudWatch::Alarm",
}


def _entries(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (logical_id, resource["Metadata"][MANIFEST_KEY])
        for logical_id, resource in template["Resources"].items()
        if MANIFEST_KEY in resource.get("Metadata", {})
    ]


def _check_references(
    template: dict[str, Any], entry: dict[str, Any], types: dict[str, str]
) -> None:
    resources = template["Resources"]
    for field, expected in types.items():
        reference = entry[field]
        if reference is not None and "logicalId" in reference:
            assert resources[reference["logicalId"]]["Type"] == expected, field


def test_a_fanout_and_its_consumers_describe_their_resources() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    for name in ("Billing", "Audit"):
        fanout.add_consumer(name, handler=new_function(stack, f"{name}Fn"), event_pattern=PATTERN)
    template = Template.from_stack(stack).to_json()

    entries = dict(
        (entry["kind"] + ":" + entry.get("name", ""), entry) for _, entry in _entries(template)
    )
    fanout_entry = entries[f"fanout:{fanout.name}"]
    assert fanout_entry["version"] == MANIFEST_VERSION and fanout_entry["path"] == "Test/Fanout"
    _check_references(template, fanout_entry, FANOUT_TYPES)
    for name in ("Billing", "Audit"):
        entry = entries[f"consumer:{name}"]
        assert entry["fanout"] == fanout.name and entry["fifo"] is False
        assert entry["metricsService"] == fanout.consumers[name].metrics_service
        _check_references(template, entry, CONSUMER_TYPES)
        assert sorted(entry["alarms"]) == sorted(fanout.consumers[name].alarms.resources)
        for reference in entry["alarms"].values():
            assert template["Resources"][reference["logicalId"]]["Type"] == "AWS::CloudWatch::Alarm"


def test_consumers_in_shards_describe_themselves_in_their_own_templates() -> None:
    stack = new_stack()

    def factory(scope: Construct) -> Any:
        return new_function(scope, "Fn")

    fanout = EventFanout(stack, "Fanout", shards=2)
    for i in range(4):
        fanout.add_consumer(f"C{i}", handler=factory, event_pattern=PATTERN)
    for shard in fanout.shards:
        template = Template.from_stack(shard).to_json()
        entries = [entry for _, entry in _entries(template)]
        assert entries and all(
            e["kind"] == "consumer" and e["fanout"] == fanout.name for e in entries
        )
        for entry in entries:
            _check_references(template, entry, CONSUMER_TYPES)
    parent = [e for _, e in _entries(Template.from_stack(stack).to_json())]
    assert [e["kind"] for e in parent] == ["fanout"]


def test_an_imported_bus_is_named_and_a_standalone_consumer_has_no_fanout() -> None:
    stack = new_stack()
    bus = events.EventBus.from_event_bus_name(stack, "Bus", "orders")
    EventFanout(stack, "Fanout", event_bus=bus, archive_retention=None)
    alone = FanoutConsumer(
        Stack.of(stack),
        "Alone",
        event_bus=bus,
        handler=new_function(stack, "Fn"),
        event_pattern=PATTERN,
    )
    template = Template.from_stack(stack).to_json()
    entries = {entry["kind"] + ":" + entry["path"]: entry for _, entry in _entries(template)}
    assert entries["fanout:Test/Fanout"]["bus"] == {"name": "orders"}
    assert "archive" not in entries["fanout:Test/Fanout"]  # none: the key is left out
    assert "fanout" not in entries["consumer:Test/Alone"]
    assert entries["consumer:Test/Alone"]["name"] == "Alone" and alone.node.id == "Alone"
