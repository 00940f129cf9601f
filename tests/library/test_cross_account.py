"""Consumers in other accounts: the central side forwards, the team side admits only that.

The two-account example (``examples/cross_account/app.py``) is synthesized as its teams would:
two stacks in two environments, wired by ARNs. Its templates are checked for what each side
grants, and cfn-lint; the four cdk-nag packs run on the same two sides with alarm actions
(``tests/security/test_cross_account_nag.py``).
"""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import pytest
from aws_cdk import Environment, Stack
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template

from event_fanout import CentralBus, EventFanout, EventFanoutConfigError, EventForwarder
from tests.builders import REPO_ROOT, new_app
from tests.template_checks import cfn_lint


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "cross_account_example", REPO_ROOT / "examples" / "cross_account" / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXAMPLE = _example()


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    app = new_app()
    EXAMPLE.build(app)
    assembly = app.synth()
    return {name: assembly.get_stack_by_name(name).template for name in ("Central", "Billing")}


def _of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def _flat(value: Any) -> str:
    """A template value as text, ``Fn::Join``s joined, other intrinsics kept as JSON."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_flat(part) for part in parts)
    if isinstance(value, dict) and value == {"Ref": "AWS::Partition"}:
        return "aws"
    return value if isinstance(value, str) else json.dumps(value)


def test_the_central_side_forwards_the_pattern_to_the_team_bus_through_a_scoped_role(
    templates: dict[str, dict[str, Any]],
) -> None:
    central = templates["Central"]
    (rule,) = _of_type(central, "AWS::Events::Rule")
    assert rule["Name"] == EXAMPLE.FORWARDING_RULE
    assert rule["EventPattern"] == {"source": ["shop.orders"], "detail-type": ["OrderPlaced"]}
    (target,) = rule["Targets"]
    assert target["Arn"] == EXAMPLE.BILLING_BUS_ARN
    assert "RoleArn" in target and "Arn" in target["DeadLetterConfig"]
    (role,) = _of_type(central, "AWS::IAM::Role")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "111111111111"}
    source_arn = _flat(trust["Condition"]["ArnEquals"]["aws:SourceArn"])
    assert source_arn.startswith("arn:aws:events:eu-west-1:111111111111:rule/")
    assert source_arn.endswith(f"/{EXAMPLE.FORWARDING_RULE}")
    # One managed policy (no inline one): PutEvents on the team's bus, nothing else.
    assert _of_type(central, "AWS::IAM::Policy") == []
    (managed,) = _of_type(central, "AWS::IAM::ManagedPolicy")
    statements = managed["PolicyDocument"]["Statement"]
    assert statements and all(s["Action"] == "events:PutEvents" for s in statements)
    assert {s["Resource"] for s in statements} == {EXAMPLE.BILLING_BUS_ARN}
    # What it cannot deliver waits in its own encrypted queue, which only this rule may fill,
    # with an alarm.
    (queue,) = _of_type(central, "AWS::SQS::Queue")
    assert queue["SqsManagedSseEnabled"] is True
    (queue_policy,) = _of_type(central, "AWS::SQS::QueuePolicy")
    (send,) = [
        s for s in queue_policy["PolicyDocument"]["Statement"] if s["Action"] == "sqs:SendMessage"
    ]
    assert send["Principal"] == {"Service": "events.amazonaws.com"}
    assert "aws:SourceArn" in send["Condition"]["ArnEquals"]
    assert len(_of_type(central, "AWS::CloudWatch::Alarm")) == 1


def test_the_team_side_admits_only_the_central_rule_of_the_central_account(
    templates: dict[str, dict[str, Any]],
) -> None:
    (policy,) = _of_type(templates["Billing"], "AWS::Events::EventBusPolicy")
    statement = policy["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Principal"] == {
        "AWS": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::111111111111:root"]]}
    }
    assert statement["Condition"] == {
        "ArnEquals": {
            "aws:SourceArn": [
                f"arn:aws:events:eu-west-1:111111111111:rule/{EXAMPLE.CENTRAL_BUS}/"
                f"{EXAMPLE.FORWARDING_RULE}"
            ]
        },
        "StringEquals": {"aws:PrincipalOrgID": EXAMPLE.ORGANIZATION},
    }


def test_the_two_sides_share_only_names_and_arns(templates: dict[str, dict[str, Any]]) -> None:
    for name, template in templates.items():
        text = json.dumps(template)
        # No cross-stack reference: nothing imported, no parameter but CDK's bootstrap check.
        assert "Fn::ImportValue" not in text, name
        assert set(template.get("Parameters", {})) <= {"BootstrapVersion"}, name
        assert cfn_lint(template) == [], name


def test_without_rule_names_any_rule_of_the_central_bus_is_admitted() -> None:
    stack = Stack(new_app(), "Team", env=EXAMPLE.BILLING)
    EventFanout(stack, "Fanout", receive_from=[CentralBus(event_bus_arn=EXAMPLE.CENTRAL_BUS_ARN)])
    (policy,) = _of_type(Template.from_stack(stack).to_json(), "AWS::Events::EventBusPolicy")
    assert policy["Statement"]["Condition"] == {
        "ArnLike": {
            "aws:SourceArn": f"arn:aws:events:eu-west-1:111111111111:rule/{EXAMPLE.CENTRAL_BUS}/*"
        }
    }


def test_a_bus_of_another_account_is_refused_as_a_fanout_bus_with_the_way_to_do_it() -> None:
    stack = Stack(new_app(), "Team", env=EXAMPLE.BILLING)
    central = events.EventBus.from_event_bus_arn(stack, "Central", EXAMPLE.CENTRAL_BUS_ARN)
    with pytest.raises(
        EventFanoutConfigError, match=r"(?s)event_bus.*EventForwarder.*receive_from"
    ):
        EventFanout(stack, "Fanout", event_bus=central)


def test_the_forwarder_needs_the_central_bus_of_its_own_account() -> None:
    stack = Stack(new_app(), "Elsewhere", env=EXAMPLE.BILLING)
    central = events.EventBus.from_event_bus_arn(stack, "Central", EXAMPLE.CENTRAL_BUS_ARN)
    with pytest.raises(EventFanoutConfigError, match="Elsewhere/Forward: event_bus"):
        EventForwarder(
            stack,
            "Forward",
            event_bus=central,
            target_bus_arn=EXAMPLE.BILLING_BUS_ARN,
            rule_name="billing-forward",
            event_pattern=EXAMPLE.ORDER_PLACED,
        )


@pytest.mark.parametrize(
    ("central", "argument"),
    [
        (CentralBus(event_bus_arn="arn:aws:sqs:eu-west-1:111111111111:q"), "event_bus_arn"),
        (CentralBus(event_bus_arn=EXAMPLE.CENTRAL_BUS_ARN, rule_names=["a rule"]), "rule_names"),
        (
            CentralBus(event_bus_arn=EXAMPLE.CENTRAL_BUS_ARN, organization_id="acme"),
            "organization_id",
        ),
    ],
)
def test_a_wrong_central_bus_is_one_error_naming_the_field(
    central: CentralBus, argument: str
) -> None:
    stack = Stack(new_app(), "Team", env=EXAMPLE.BILLING)
    with pytest.raises(
        EventFanoutConfigError, match=rf"Team/Fanout: receive_from\[0\]\.{argument}"
    ):
        EventFanout(stack, "Fanout", receive_from=[central])


def test_receive_from_needs_a_bus_the_fanout_creates() -> None:
    stack = Stack(new_app(), "Team", env=EXAMPLE.BILLING)
    own = events.EventBus.from_event_bus_name(stack, "Own", "billing-events")
    with pytest.raises(EventFanoutConfigError, match="needs a bus the fan-out creates"):
        EventFanout(
            stack, "Fanout", event_bus=own, receive_from=[CentralBus(EXAMPLE.CENTRAL_BUS_ARN)]
        )


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ({"rule_name": "no spaces please"}, "rule_name"),
        ({"target_bus_arn": "billing-events"}, "target_bus_arn"),
        ({"event_pattern": None}, "event_pattern"),
    ],
)
def test_a_wrong_forwarder_is_an_error_naming_the_argument(
    arguments: dict[str, Any], argument: str
) -> None:
    stack = Stack(new_app(), "Central", env=Environment(account="111111111111", region="eu-west-1"))
    bus = events.EventBus(stack, "Bus")
    given: dict[str, Any] = {
        "event_bus": bus,
        "target_bus_arn": EXAMPLE.BILLING_BUS_ARN,
        "rule_name": "billing-forward",
        "event_pattern": EXAMPLE.ORDER_PLACED,
        **arguments,
    }
    with pytest.raises(EventFanoutConfigError, match=rf"Central/Forward: {argument}"):
        EventForwarder(stack, "Forward", **given)


def test_the_forwarder_derives_its_pattern_from_the_event_types() -> None:
    from pydantic import BaseModel

    from event_fanout.events import EventType

    class Detail(BaseModel):
        order_id: str

    placed = EventType(source="shop.orders", detail_type="OrderPlaced", version=1, detail=Detail)
    cancelled = EventType(
        source="shop.orders", detail_type="OrderCancelled", version=1, detail=Detail
    )
    stack = Stack(new_app(), "Central", env=Environment(account="111111111111", region="eu-west-1"))
    forwarder = EventForwarder(
        stack,
        "Forward",
        event_bus=events.EventBus(stack, "Bus"),
        target_bus_arn=EXAMPLE.BILLING_BUS_ARN,
        rule_name="billing-forward",
        event_types=[placed, cancelled],
    )
    rule = stack.resolve(forwarder.rule.node.default_child._cfn_properties)  # type: ignore[union-attr]
    assert rule["eventPattern"] == {
        "source": ["shop.orders"],
        "detail-type": ["OrderCancelled", "OrderPlaced"],
    }
