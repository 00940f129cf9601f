"""Customer-managed keys: queues encrypted with them, EventBridge admitted per rule, grants."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from event_fanout import EventFanout
from tests.builders import new_function, new_stack

PATTERN = events.EventPattern(source=["a"])


@pytest.fixture(scope="module")
def kms_stack() -> tuple[Stack, EventFanout, kms.Key, dict[str, Any]]:
    stack = new_stack("Kms")
    fanout = EventFanout(stack, "Fanout", encryption=sqs.QueueEncryption.KMS)
    fanout.add_consumer("Shared", handler=new_function(stack, "SharedFn"), event_pattern=PATTERN)
    own = kms.Key(stack, "OwnKey", enable_key_rotation=True)
    fanout.add_consumer(
        "Own", handler=new_function(stack, "OwnFn"), event_pattern=PATTERN, encryption_key=own
    )
    return stack, fanout, own, Template.from_stack(stack).to_json()["Resources"]


def _id(stack: Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


def test_fanout_creates_one_rotated_key(
    kms_stack: tuple[Stack, EventFanout, kms.Key, dict[str, Any]],
) -> None:
    stack, fanout, _, resources = kms_stack
    assert isinstance(fanout.encryption_key, kms.Key)
    key = resources[_id(stack, fanout.encryption_key)]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    keys = [r for r in resources.values() if r["Type"] == "AWS::KMS::Key"]
    assert len(keys) == 2  # the fan-out's and the one passed to "Own"


def test_queues_use_their_key_and_no_sqs_managed_sse(
    kms_stack: tuple[Stack, EventFanout, kms.Key, dict[str, Any]],
) -> None:
    stack, fanout, own, resources = kms_stack
    fanout_key = {"Fn::GetAtt": [_id(stack, fanout.encryption_key), "Arn"]}
    own_key = {"Fn::GetAtt": [_id(stack, own), "Arn"]}
    expected = {
        _id(stack, fanout.undeliverable_events_queue): fanout_key,
        _id(stack, fanout.consumers["Shared"].queue): fanout_key,
        _id(stack, fanout.consumers["Shared"].dead_letter_queue): fanout_key,
        _id(stack, fanout.consumers["Own"].queue): own_key,
        _id(stack, fanout.consumers["Own"].dead_letter_queue): own_key,
    }
    for logical_id, key in expected.items():
        props = resources[logical_id]["Properties"]
        assert props["KmsMasterKeyId"] == key, logical_id
        assert "SqsManagedSseEnabled" not in props


def _eventbridge_statements(resources: dict[str, Any], key_id: str) -> list[dict[str, Any]]:
    statements = resources[key_id]["Properties"]["KeyPolicy"]["Statement"]
    return [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]


def test_key_policy_admits_eventbridge_only_for_the_rules_that_use_it(
    kms_stack: tuple[Stack, EventFanout, kms.Key, dict[str, Any]],
) -> None:
    stack, fanout, own, resources = kms_stack
    bus_id = _id(stack, fanout.event_bus)

    fanout_statements = _eventbridge_statements(resources, _id(stack, fanout.encryption_key))
    own_statements = _eventbridge_statements(resources, _id(stack, own))
    for statement in fanout_statements + own_statements:
        assert statement["Effect"] == "Allow"
        assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
        assert "Condition" in statement, "EventBridge must never get a key unconditionally"

    # the fan-out key (consumer queues + undeliverable queue): every rule on the fan-out's bus
    (bus_wide,) = fanout_statements
    pattern = bus_wide["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    assert {"Ref": bus_id} in pattern
    assert pattern[-1] == "/*"

    # the consumer's own key: that consumer's rule only, by the name it was given
    (per_rule,) = own_statements
    arn = per_rule["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Join"][1]
    rule_props = resources[_id(stack, fanout.consumers["Own"].rule)]["Properties"]
    assert arn[-3:] == [":rule/", {"Ref": bus_id}, "/" + rule_props["Name"]] or (
        arn[-1] == "/" + rule_props["Name"]
    )


def test_queue_policy_names_the_rule_even_with_a_key(
    kms_stack: tuple[Stack, EventFanout, kms.Key, dict[str, Any]],
) -> None:
    """aws-events-targets drops aws:SourceArn for encrypted queues; this library keeps it."""
    stack, fanout, _, resources = kms_stack
    queue_id = _id(stack, fanout.consumers["Own"].queue)
    (policy,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::SQS::QueuePolicy" and r["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    assert "aws:SourceArn" in allows[0]["Condition"]["ArnEquals"]


def test_consumer_function_may_decrypt_with_its_queue_key_only(
    kms_stack: tuple[Stack, EventFanout, kms.Key, dict[str, Any]],
) -> None:
    stack, fanout, own, resources = kms_stack
    role_id = _id(stack, fanout.consumers["Own"].function.role)
    statements = [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and r["Properties"]["Roles"] == [{"Ref": role_id}]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    kms_statements = [s for s in statements if "kms:Decrypt" in s["Action"]]
    assert [s["Resource"] for s in kms_statements] == [{"Fn::GetAtt": [_id(stack, own), "Arn"]}]


def test_no_key_means_sqs_managed_sse() -> None:
    stack = new_stack("Sse")
    fanout = EventFanout(stack, "Fanout")
    assert fanout.encryption_key is None
    Template.from_stack(stack).resource_count_is("AWS::KMS::Key", 0)
