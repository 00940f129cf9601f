"""The idempotency table and its wiring into the consumer function."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_events as events
from aws_cdk.assertions import Template

from event_fanout import EventFanout
from event_fanout.runtime import constants
from tests.builders import new_function, new_stack, only
from tests.library.conftest import Built


def _table(built: Built, name: str) -> dict[str, Any]:
    table = built.consumers[name].idempotency_table
    assert table is not None
    return built.resource(table)


def test_table_has_the_schema_powertools_expects(built: Built) -> None:
    table = _table(built, "Plain")
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_table_is_on_demand_with_point_in_time_recovery(built: Built) -> None:
    table = _table(built, "Plain")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_table_is_retained_by_default(built: Built) -> None:
    table_id = built.logical_id(built.consumers["Plain"].idempotency_table)
    resource = built.template.to_json()["Resources"][table_id]
    assert resource["DeletionPolicy"] == "Retain"


def test_one_table_per_consumer_by_default(built: Built) -> None:
    with_own_table = [
        name
        for name, consumer in built.consumers.items()
        if consumer.idempotency_table is not None and name != "SharedTable"
    ]
    tables = built.template.find_resources(
        "AWS::DynamoDB::Table", {"Properties": {"TimeToLiveSpecification": {"Enabled": True}}}
    )
    # + the shared table the SharedTable consumer was given
    assert len(tables) == len(with_own_table) + 1


def test_function_environment_names_table_key_and_expiry(built: Built) -> None:
    env = built.env_of("Plain")
    assert env[constants.ENV_IDEMPOTENCY_TABLE_NAME] == {
        "Ref": built.logical_id(built.consumers["Plain"].idempotency_table)
    }
    assert env[constants.ENV_IDEMPOTENCY_KEY_PATH] == "id"
    # default expiry = the DLQ retention: a redriven message is still recognised
    assert env[constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS] == str(14 * 86400)
    assert env[constants.ENV_CONSUMER_NAME] == "Plain"
    assert env[constants.ENV_POWERTOOLS_SERVICE_NAME] == "Plain"
    assert constants.ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH not in env
    # the runtime prefixes keys with the consumer name unless told otherwise
    assert constants.ENV_IDEMPOTENCY_KEY_PREFIX not in env


def test_function_keeps_its_own_variables_and_later_powertools_settings_win() -> None:
    stack = new_stack("Env")
    handler = new_function(stack, "Fn")
    handler.add_environment("OWN_SETTING", "kept")
    fanout = EventFanout(stack, "Fanout")
    fanout.add_consumer("Billing", handler=handler, event_pattern=events.EventPattern(source=["a"]))
    handler.add_environment(constants.ENV_POWERTOOLS_SERVICE_NAME, "billing-api")
    handler.add_environment("SET_AFTER", "also kept")
    fn_id = stack.get_logical_id(handler.node.default_child)  # type: ignore[arg-type]
    env = Template.from_stack(stack).to_json()["Resources"][fn_id]["Properties"]["Environment"]
    variables = env["Variables"]
    assert variables["OWN_SETTING"] == "kept"
    assert variables["SET_AFTER"] == "also kept"
    assert variables[constants.ENV_POWERTOOLS_SERVICE_NAME] == "billing-api"
    assert variables[constants.ENV_CONSUMER_NAME] == "Billing"
    assert variables[constants.ENV_IDEMPOTENCY_KEY_PATH] == "id"
    assert constants.ENV_IDEMPOTENCY_TABLE_NAME in variables


def test_idempotency_options_reach_the_function(built: Built) -> None:
    env = built.env_of("Custom")
    assert env[constants.ENV_IDEMPOTENCY_KEY_PATH] == "[detail.campaignId, detail.version]"
    assert env[constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS] == str(48 * 3600)
    assert env[constants.ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH] == "detail.newBudget"


def _role_statements(built: Built, name: str) -> list[dict[str, Any]]:
    role = built.consumers[name].function.role
    role_id = built.stack.get_logical_id(role.node.default_child)  # type: ignore[union-attr,arg-type]
    policy = only(
        built.template.find_resources(
            "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
        )
    )
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def test_function_reads_and_writes_only_its_own_table(built: Built) -> None:
    table_arn = {
        "Fn::GetAtt": [built.logical_id(built.consumers["Plain"].idempotency_table), "Arn"]
    }
    dynamo = [s for s in _role_statements(built, "Plain") if "dynamodb:PutItem" in s["Action"]]
    assert len(dynamo) == 1
    assert dynamo[0]["Resource"] in (table_arn, [table_arn])
    for action in ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"):
        assert action in dynamo[0]["Action"]


def test_existing_table_is_used_instead_of_a_new_one(built: Built) -> None:
    consumer = built.consumers["SharedTable"]
    assert consumer.node.try_find_child("IdempotencyTable") is None
    shared_id = built.stack.get_logical_id(
        built.stack.node.find_child("SharedIdempotency").node.default_child  # type: ignore[arg-type]
    )
    assert built.env_of("SharedTable")[constants.ENV_IDEMPOTENCY_TABLE_NAME] == {"Ref": shared_id}
    writes = [
        s for s in _role_statements(built, "SharedTable") if "dynamodb:PutItem" in s["Action"]
    ]
    assert writes[0]["Resource"] in (
        {"Fn::GetAtt": [shared_id, "Arn"]},
        [{"Fn::GetAtt": [shared_id, "Arn"]}],
    )


def test_idempotency_none_creates_no_table_and_no_environment(built: Built) -> None:
    consumer = built.consumers["NoIdempotency"]
    assert consumer.idempotency_table is None
    env = built.resource(consumer.function).get("Environment", {}).get("Variables", {})
    assert constants.ENV_IDEMPOTENCY_TABLE_NAME not in env
    assert not any(
        "dynamodb:PutItem" in s["Action"] for s in _role_statements(built, "NoIdempotency")
    )


def test_a_later_add_environment_of_a_runtime_variable_wins() -> None:
    """The construct writes through the function's API: a user's override is not discarded."""
    stack = new_stack("Override")
    handler = new_function(stack, "Fn")
    fanout = EventFanout(stack, "Fanout")
    fanout.add_consumer("Billing", handler=handler, event_pattern=events.EventPattern(source=["a"]))
    handler.add_environment(constants.ENV_IDEMPOTENCY_KEY_PREFIX, "billing-v1")
    handler.add_environment(constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS, "86400")
    fn_id = stack.get_logical_id(handler.node.default_child)  # type: ignore[arg-type]
    resource = Template.from_stack(stack).to_json()["Resources"][fn_id]
    variables = resource["Properties"]["Environment"]["Variables"]
    assert variables[constants.ENV_IDEMPOTENCY_KEY_PREFIX] == "billing-v1"
    assert variables[constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS] == "86400"
