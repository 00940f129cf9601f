"""tracing=True: active tracing, X-Ray write access in a policy of its own, the runtime told."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from event_fanout import EventFanout, EventFanoutConfigError
from event_fanout.runtime import constants
from tests.builders import new_function, new_stack

PATTERN = events.EventPattern(source=["shop.orders"])


def _built(**options: Any) -> dict[str, Any]:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    fanout.add_consumer(
        "Billing", handler=new_function(stack, "Fn"), event_pattern=PATTERN, **options
    )
    resources: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return resources


def _of_type(resources: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources.values() if r["Type"] == kind]


def test_tracing_turns_on_active_tracing_and_grants_only_xray_writes() -> None:
    resources = _built(tracing=True)
    (function,) = _of_type(resources, "AWS::Lambda::Function")
    assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}
    assert function["Properties"]["Environment"]["Variables"][constants.ENV_TRACING] == "true"
    tracing = [
        p
        for p in _of_type(resources, "AWS::IAM::Policy")
        if "Tracing" in str(p["Properties"]["PolicyName"])
    ]
    (policy,) = tracing
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    # The wildcard X-Ray needs is acknowledged on this policy alone, for cdk-nag 2 and 3.
    suppressed = policy["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert [rule["id"] for rule in suppressed] == ["AwsSolutions-IAM5"]


def test_without_tracing_nothing_changes() -> None:
    resources = _built()
    (function,) = _of_type(resources, "AWS::Lambda::Function")
    assert "TracingConfig" not in function["Properties"]
    assert constants.ENV_TRACING not in function["Properties"]["Environment"]["Variables"]


def test_tracing_an_imported_function_is_a_config_error() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    imported = lambda_.Function.from_function_name(stack, "Imported", "billing")
    with pytest.raises(
        EventFanoutConfigError, match="Test/Fanout/Consumers/Billing: tracing needs"
    ):
        fanout.add_consumer("Billing", handler=imported, event_pattern=PATTERN, tracing=True)
