"""Configurations that used to lose, skip or stall events now deploy safely or fail at synth.

Key paths are compiled at synth, shared tables cannot mix two consumers' keys, the idempotency
expiry covers a message's whole life, FIFO consumers may move a poison record to their DLQ,
imported keys are called out, and policies admit only the fan-out's own rules.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import Annotations as CdkAnnotations
from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template

from event_fanout import EventFanout, EventFanoutConfigError, FanoutConsumer, Idempotency
from event_fanout.constructs.lifetimes import (
    FIFO_CRASH_RECEIVES,
    message_lifetime_seconds,
    visibility_timeout_seconds,
)
from event_fanout.runtime import constants
from tests.builders import new_function, new_stack

PATTERN = events.EventPattern(source=["ads.campaigns"])
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
IMPORTED_KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def _env(stack: Stack, consumer: FanoutConsumer) -> dict[str, Any]:
    fn_id = stack.get_logical_id(consumer.function.node.default_child)  # type: ignore[arg-type]
    resource = Template.from_stack(stack).to_json()["Resources"][fn_id]
    variables: dict[str, Any] = resource["Properties"]["Environment"]["Variables"]
    return variables


def _consumer(stack: Stack, fanout: EventFanout, name: str, **props: Any) -> FanoutConsumer:
    return fanout.add_consumer(
        name,
        handler=new_function(stack, f"{fanout.node.id}{name}Fn"),
        event_pattern=PATTERN,
        **props,
    )


# -- 4. invalid JMESPath ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "prop"),
    [
        (Idempotency(key_path="[detail.campaignId, detail.version"), "idempotency.key_path"),
        (Idempotency(key_path="detail.'id'"), "idempotency.key_path"),
        (
            Idempotency(payload_validation_path="detail.[newBudget"),
            "idempotency.payload_validation_path",
        ),
    ],
)
def test_fails_when_a_jmespath_does_not_compile(options: Idempotency, prop: str) -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    with pytest.raises(EventFanoutConfigError, match=r"must be a valid JMESPath") as caught:
        _consumer(stack, fanout, "Audit", idempotency=options)
    assert f"Test/Fanout/Consumers/Audit: {prop} " in str(caught.value)


# -- 5. key prefixes on a shared table, metric dimensions ---------------------------------------


def _two_fanouts_sharing_a_table(
    first: Idempotency | None = None, second: Idempotency | None = None
) -> tuple[Stack, FanoutConsumer, FanoutConsumer]:
    stack = new_stack()
    table = dynamodb.Table.from_table_name(stack, "Shared", "shared-idempotency")
    orders = EventFanout(stack, "Orders")
    billing = EventFanout(stack, "Billing")
    a = _consumer(stack, orders, "Audit", idempotency=first or Idempotency(existing_table=table))
    b = _consumer(stack, billing, "Audit", idempotency=second or Idempotency(existing_table=table))
    return stack, a, b


def test_fails_when_two_consumers_write_one_shared_table_under_one_prefix() -> None:
    with pytest.raises(EventFanoutConfigError) as caught:
        _two_fanouts_sharing_a_table()
    message = str(caught.value)
    assert "Test/Billing/Consumers/Audit: idempotency.key_prefix " in message
    assert "Test/Orders/Consumers/Audit" in message
    assert "key_prefix=" in message


def test_key_prefix_tells_consumers_of_a_shared_table_apart() -> None:
    stack = new_stack()
    table = dynamodb.Table.from_table_name(stack, "Shared", "shared-idempotency")
    orders, billing = EventFanout(stack, "Orders"), EventFanout(stack, "Billing")
    a = _consumer(stack, orders, "Audit", idempotency=Idempotency(existing_table=table))
    b = _consumer(
        stack,
        billing,
        "Audit",
        idempotency=Idempotency(existing_table=table, key_prefix="Billing.Audit"),
    )
    assert constants.ENV_IDEMPOTENCY_KEY_PREFIX not in _env(stack, a)  # runtime: its name
    assert _env(stack, b)[constants.ENV_IDEMPOTENCY_KEY_PREFIX] == "Billing.Audit"


def test_consumers_of_the_same_id_in_two_fanouts_get_distinct_metric_dimensions() -> None:
    stack = new_stack()
    orders, billing = EventFanout(stack, "Orders"), EventFanout(stack, "Billing")
    a, b = _consumer(stack, orders, "Audit"), _consumer(stack, billing, "Audit")
    env_a, env_b = _env(stack, a), _env(stack, b)
    assert env_a[constants.ENV_CONSUMER_NAME] == env_b[constants.ENV_CONSUMER_NAME] == "Audit"
    assert env_a[constants.ENV_METRICS_SERVICE] != env_b[constants.ENV_METRICS_SERVICE]
    alarms = Template.from_stack(stack).find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": constants.METRIC_FAILED}}
    )
    dimensions = {json.dumps(alarm["Properties"]["Dimensions"]) for alarm in alarms.values()}
    assert len(dimensions) == 2


# -- 6. expiry covers the message's whole life ---------------------------------------------------


def test_message_lifetime_of_standard_and_fifo_queues() -> None:
    four_days, fourteen_days = 4 * 86400, 14 * 86400
    kwargs = {"retention_seconds": four_days, "dead_letter_retention_seconds": fourteen_days}
    assert message_lifetime_seconds(fifo=False, **kwargs) == fourteen_days
    assert message_lifetime_seconds(fifo=True, **kwargs) == four_days + fourteen_days
    assert visibility_timeout_seconds(30, 20) == 200


def test_default_expiry_follows_the_queue_type() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    standard = _consumer(stack, fanout, "Standard")
    fifo = _consumer(stack, fanout, "Ordered", fifo=True, message_group_id="orders")
    expiry = constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS
    assert _env(stack, standard)[expiry] == str(14 * 86400)
    # A FIFO DLQ resets the enqueue time: source retention + DLQ retention.
    assert _env(stack, fifo)[expiry] == str(4 * 86400 + 14 * 86400)


def test_explicit_expiry_shorter_than_the_message_lifetime_is_a_warning() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    _consumer(
        stack,
        fanout,
        "Ordered",
        fifo=True,
        message_group_id="orders",
        idempotency=Idempotency(expires_after=Duration.days(14)),
    )
    _consumer(stack, fanout, "Enough", idempotency=Idempotency(expires_after=Duration.days(14)))
    annotations = Annotations.from_stack(stack)
    warned = annotations.find_warning(
        "/Test/Fanout/Consumers/Ordered", Match.string_like_regexp(r"\(1555200 s = ")
    )
    assert len(warned) == 1
    assert not annotations.find_warning(
        "/Test/Fanout/Consumers/Enough", Match.string_like_regexp("shorter than the longest")
    )


# -- 7. FIFO: the runtime may dead-letter a poison record itself ---------------------------------


def test_fifo_consumer_may_send_to_its_own_dead_letter_queue_only() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout", encryption=sqs.QueueEncryption.KMS)
    fifo = _consumer(stack, fanout, "Ordered", fifo=True, message_group_id="orders")
    standard = _consumer(stack, fanout, "Standard")
    env = _env(stack, fifo)
    dlq_id = stack.get_logical_id(fifo.dead_letter_queue.node.default_child)  # type: ignore[arg-type]
    assert env[constants.ENV_DEAD_LETTER_QUEUE_URL] == {"Ref": dlq_id}
    assert env[constants.ENV_MAX_RECEIVE_COUNT] == "5"
    assert constants.ENV_DEAD_LETTER_QUEUE_URL not in _env(stack, standard)

    template = Template.from_stack(stack).to_json()["Resources"]
    sends = [
        statement
        for resource in template.values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in json.dumps(statement["Action"])
    ]
    assert sends == [
        {
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [dlq_id, "Arn"]},
        }
    ]


def test_fifo_queue_redrives_only_after_crash_receives_beyond_the_runtimes_own_move() -> None:
    # A crash on the runtime's last allowed receive must not let SQS dead-letter the healthy
    # records held back behind the failing one (they were received as often as it was).
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    fifo = _consumer(
        stack, fanout, "Ordered", fifo=True, message_group_id="orders", max_receive_count=3
    )
    standard = _consumer(stack, fanout, "Standard", max_receive_count=3)
    near_limit = _consumer(
        stack, fanout, "NearLimit", fifo=True, message_group_id="o", max_receive_count=999
    )
    resources = Template.from_stack(stack).to_json()["Resources"]

    def redrive(consumer: FanoutConsumer) -> int:
        queue_id = stack.get_logical_id(consumer.queue.node.default_child)  # type: ignore[arg-type]
        count: int = resources[queue_id]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
        return count

    assert _env(stack, fifo)[constants.ENV_MAX_RECEIVE_COUNT] == "3"
    assert redrive(fifo) == 3 + FIFO_CRASH_RECEIVES
    assert redrive(standard) == 3
    assert redrive(near_limit) == 1000


# -- 10. tokens are carried into the template or rejected ----------------------------------------


def _token_stack() -> tuple[Stack, Any]:
    from aws_cdk import CfnParameter

    stack = new_stack()
    parameter = CfnParameter(stack, "Knob", type="Number", default=5)
    return stack, parameter.value_as_number


CONSUMER_TOKEN_PROPS = {
    "batch_size": lambda n: n,
    "max_batching_window": Duration.seconds,
    "max_concurrency": lambda n: n,
    "max_receive_count": lambda n: n,
    "visibility_timeout": Duration.seconds,
    "retention_period": Duration.seconds,
    "dead_letter_retention_period": Duration.seconds,
    "max_message_age": Duration.seconds,
    "retry_attempts": lambda n: n,
    "max_event_age": Duration.seconds,
    "powertools_layer_version": lambda n: n,
    "idempotency": lambda n: Idempotency(expires_after=Duration.seconds(n)),
}


def _assert_token_carried(stack: Stack) -> None:
    """The parameter is referenced, and no resolved number is a token's encoding."""
    rendered = json.dumps(Template.from_stack(stack).to_json()["Resources"])
    assert '{"Ref": "Knob"}' in rendered
    numbers: list[float] = []

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, str) and NUMBER.fullmatch(value)
        ):
            numbers.append(float(value))

    collect(json.loads(rendered))
    assert all(abs(n) < 1e12 for n in numbers), sorted(numbers, key=abs)[-3:]


@pytest.mark.parametrize("prop", list(CONSUMER_TOKEN_PROPS))
def test_consumer_token_props_reach_the_template_or_fail_clearly(prop: str) -> None:
    stack, token = _token_stack()
    fanout = EventFanout(stack, "Fanout")
    value = CONSUMER_TOKEN_PROPS[prop](token)
    try:
        _consumer(stack, fanout, "Audit", **{prop: value})
    except EventFanoutConfigError as error:
        assert "Test/Fanout/Consumers/Audit: " in str(error)
        assert prop.split(".")[0] in str(error) or "idempotency" in str(error)
        return
    _assert_token_carried(stack)


def test_token_idempotency_expiry_is_written_as_the_parameter() -> None:
    stack, token = _token_stack()
    consumer = _consumer(
        stack,
        EventFanout(stack, "Fanout"),
        "Audit",
        idempotency=Idempotency(expires_after=Duration.seconds(token)),
    )
    assert _env(stack, consumer)[constants.ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS] == {"Ref": "Knob"}


def test_fails_when_a_token_function_timeout_leaves_visibility_underivable() -> None:
    stack, token = _token_stack()
    fanout = EventFanout(stack, "Fanout")
    fn = new_function(stack, "Fn", timeout=Duration.seconds(token))
    with pytest.raises(EventFanoutConfigError, match="pass visibility_timeout="):
        fanout.add_consumer("Audit", handler=fn, event_pattern=PATTERN)


@pytest.mark.parametrize(
    "prop", ["archive_retention", "undeliverable_retention_period", "consumers_per_stack"]
)
def test_fanout_token_props_reach_the_template_or_fail_clearly(prop: str) -> None:
    stack, token = _token_stack()
    # EventBridge archives keep whole days: a token retention must be given in days.
    unit = Duration.days if prop == "archive_retention" else Duration.seconds
    value: Any = token if prop == "consumers_per_stack" else unit(token)
    try:
        fanout = EventFanout(stack, "Fanout", **{prop: value})
        _consumer(stack, fanout, "Audit")
    except EventFanoutConfigError as error:
        assert f"Test/Fanout: {prop} " in str(error)
        return
    _assert_token_carried(stack)


# -- 11. imported keys -----------------------------------------------------------------------------


def test_imported_key_is_a_warning_that_prints_the_statement_to_add() -> None:
    stack = new_stack()
    key = kms.Key.from_key_arn(stack, "Imported", IMPORTED_KEY_ARN)
    fanout = EventFanout(stack, "Fanout")
    _consumer(stack, fanout, "Audit", encryption=sqs.QueueEncryption.KMS, encryption_key=key)
    warnings = Annotations.from_stack(stack).find_warning(
        "/Test/Fanout/Consumers/Audit", Match.string_like_regexp("The key's owner must add")
    )
    assert len(warnings) == 1
    text = warnings[0].entry.data
    statement = json.loads(text[text.index("{") :].split(" [ack:")[0])
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert "rule/" in statement["Condition"]["ArnEquals"]["aws:SourceArn"]


def test_undeliverable_events_queue_never_uses_an_imported_key() -> None:
    stack = new_stack()
    key = kms.Key.from_key_arn(stack, "Imported", IMPORTED_KEY_ARN)
    fanout = EventFanout(stack, "Fanout", encryption=sqs.QueueEncryption.KMS, encryption_key=key)
    _consumer(stack, fanout, "Audit")
    queue_id = stack.get_logical_id(
        fanout.undeliverable_events_queue.node.default_child  # type: ignore[arg-type]
    )
    props = Template.from_stack(stack).to_json()["Resources"][queue_id]["Properties"]
    assert props["SqsManagedSseEnabled"] is True
    assert "KmsMasterKeyId" not in props
    assert Annotations.from_stack(stack).find_warning(
        "/Test/Fanout", Match.string_like_regexp("The key's owner must add")
    )


# -- 13. policies admit the fan-out's rules only ------------------------------------------------


def _send_conditions(stack: Stack, queue: sqs.IQueue) -> list[dict[str, Any]]:
    queue_id = stack.get_logical_id(queue.node.default_child)  # type: ignore[arg-type]
    conditions = []
    for resource in Template.from_stack(stack).to_json()["Resources"].values():
        if resource["Type"] != "AWS::SQS::QueuePolicy":
            continue
        if {"Ref": queue_id} not in resource["Properties"]["Queues"]:
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Action") == "sqs:SendMessage":
                conditions.append(statement["Condition"])
    return conditions


def test_fanout_on_the_default_bus_admits_only_its_own_rules() -> None:
    stack = new_stack()
    bus = events.EventBus.from_event_bus_name(stack, "Default", "default")
    fanout = EventFanout(stack, "Fanout", event_bus=bus)
    consumer = _consumer(stack, fanout, "Audit")
    (condition,) = _send_conditions(stack, fanout.undeliverable_events_queue)
    pattern = json.dumps(condition["ArnLike"]["aws:SourceArn"])
    assert f":rule/{fanout.name}-*" in pattern
    assert ":rule/*" not in pattern
    rule_id = stack.get_logical_id(consumer.rule.node.default_child)  # type: ignore[arg-type]
    rule = Template.from_stack(stack).to_json()["Resources"][rule_id]["Properties"]
    assert rule["Name"] == f"{fanout.name}-Audit"


def test_fails_when_a_rule_name_escapes_the_fanouts_prefix() -> None:
    stack = new_stack()
    bus = events.EventBus.from_event_bus_name(stack, "Default", "default")
    fanout = EventFanout(stack, "Fanout", event_bus=bus)
    with pytest.raises(EventFanoutConfigError, match="rule_name must start with"):
        _consumer(stack, fanout, "Audit", rule_name="audit")


def test_warnings_are_acknowledgeable_by_id() -> None:
    # The warning ids are stable, so a team that accepts one can acknowledge it.
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    consumer = _consumer(
        stack, fanout, "Short", idempotency=Idempotency(expires_after=Duration.hours(1))
    )
    CdkAnnotations.of(consumer).acknowledge_warning(
        "event-fanout:idempotency-expiry-below-message-lifetime", "dedup for an hour is enough"
    )
    assert not Annotations.from_stack(stack).find_warning("*", Match.any_value())


# -- issue: a non-Python handler --------------------------------------------------------------


def test_a_non_python_handler_gets_a_warning_and_no_table_unless_asked() -> None:
    from aws_cdk import aws_lambda as lambda_

    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    default = fanout.add_consumer(
        "Node",
        handler=new_function(stack, "NodeFn", runtime=lambda_.Runtime.NODEJS_22_X),
        event_pattern=PATTERN,
    )
    asked = fanout.add_consumer(
        "NodeWithTable",
        handler=new_function(stack, "NodeTableFn", runtime=lambda_.Runtime.NODEJS_22_X),
        event_pattern=PATTERN,
        idempotency=Idempotency(),
    )
    assert default.idempotency_table is None
    assert asked.idempotency_table is not None
    warnings = Annotations.from_stack(stack).find_warning(
        "/Test/Fanout/Consumers/Node", Match.string_like_regexp("event_fanout.runtime .* Python")
    )
    assert len(warnings) == 1
