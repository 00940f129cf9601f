"""Invalid configurations fail at synth time with a message naming path, prop, value and fix.

Every case builds a fresh stack; nothing is synthesized, so these run fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_cloudwatch_actions import LambdaAction

from event_fanout import EventFanout, EventFanoutConfigError, FanoutConsumer, Idempotency
from tests.builders import new_function, new_stack

PATTERN = events.EventPattern(source=["ads.campaigns"])
CONSUMER_PATH = "Test/Fanout/Consumers/Audit"
THIRTY_SECONDS = Duration.seconds(30)


@dataclass(frozen=True)
class Case:
    """One rejected configuration: consumer kwargs (or a builder) and what the error must say."""

    id: str
    props: dict[str, Any]
    prop: str
    value: str
    fix: str
    path: str = CONSUMER_PATH
    timeout: Duration | None = THIRTY_SECONDS
    build: Callable[[Stack], None] | None = None


def _add(stack: Stack, case: Case) -> None:
    fanout = EventFanout(stack, "Fanout")
    fn = new_function(stack, "Fn", timeout=case.timeout)
    props = {"handler": fn, "event_pattern": PATTERN, **case.props}
    fanout.add_consumer("Audit", **props)


def _second_consumer_same_function(stack: Stack) -> None:
    fanout = EventFanout(stack, "Fanout")
    fn = new_function(stack, "Fn")
    fanout.add_consumer("Reporting", handler=fn, event_pattern=PATTERN)
    fanout.add_consumer("Audit", handler=fn, event_pattern=PATTERN)


def _duplicate_consumer_id(stack: Stack) -> None:
    fanout = EventFanout(stack, "Fanout")
    fanout.add_consumer("Audit", handler=new_function(stack, "Fn1"), event_pattern=PATTERN)
    fanout.add_consumer("Audit", handler=new_function(stack, "Fn2"), event_pattern=PATTERN)


def _imported_function(stack: Stack) -> None:
    fanout = EventFanout(stack, "Fanout")
    fn = lambda_.Function.from_function_name(stack, "Imported", "existing-fn")
    fanout.add_consumer("Audit", handler=fn, event_pattern=PATTERN)


def _key_with_sqs_managed_fanout(stack: Stack) -> None:
    key = kms.Key(stack, "Key")
    EventFanout(stack, "Fanout", encryption=sqs.QueueEncryption.SQS_MANAGED, encryption_key=key)


def _key_with_sqs_managed_consumer(stack: Stack) -> None:
    fanout = EventFanout(stack, "Fanout")
    fanout.add_consumer(
        "Audit",
        handler=new_function(stack, "Fn"),
        event_pattern=PATTERN,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        encryption_key=kms.Key(stack, "Key"),
    )


def _aws_managed_key_fanout(stack: Stack) -> None:
    EventFanout(stack, "Fanout", encryption=sqs.QueueEncryption.KMS_MANAGED)


def _bus_and_bus_name(stack: Stack) -> None:
    bus = events.EventBus.from_event_bus_name(stack, "Existing", "platform")
    EventFanout(stack, "Fanout", event_bus=bus, event_bus_name="ads")


def _event_bus_given_to_add_consumer(stack: Stack) -> None:
    fanout = EventFanout(stack, "Fanout")
    bus = events.EventBus.from_event_bus_name(stack, "Other", "other")
    fanout.add_consumer(
        "Audit", handler=new_function(stack, "Fn"), event_pattern=PATTERN, event_bus=bus
    )


def _lambda_action_without_unique_permission_ids(stack: Stack) -> None:
    """cdk.json leaves LambdaAction's permission-id flag off: every alarm's id would clash."""
    responder = new_function(stack, "Responder")
    fanout = EventFanout(stack, "Fanout", alarm_actions=[LambdaAction(responder)])
    fanout.add_consumer("Audit", handler=new_function(stack, "Fn"), event_pattern=PATTERN)


def _lambda_action_shared_by_two_fanouts(stack: Stack) -> None:
    """The fan-outs' own alarms (undeliverable events) clash the same way."""
    action = LambdaAction(new_function(stack, "Responder"))
    EventFanout(stack, "First", alarm_actions=[action])
    EventFanout(stack, "Second", alarm_actions=[action])


def _shared_table_same_prefix(stack: Stack) -> None:
    table = dynamodb.Table.from_table_name(stack, "Shared", "shared-idempotency")
    for fanout_id in ("Orders", "Fanout"):
        EventFanout(stack, fanout_id).add_consumer(
            "Audit",
            handler=new_function(stack, f"{fanout_id}Fn"),
            event_pattern=PATTERN,
            idempotency=Idempotency(existing_table=table),
        )


def _handler_in_another_stack(stack: Stack) -> None:
    other = Stack(stack.node.root, "Functions")
    EventFanout(stack, "Fanout").add_consumer(
        "Audit", handler=new_function(other, "Fn"), event_pattern=PATTERN
    )


def _parent_function_in_a_shard(stack: Stack) -> None:
    EventFanout(stack, "Fanout", shards=2).add_consumer(
        "Audit", handler=new_function(stack, "Fn"), event_pattern=PATTERN
    )


def _token_function_timeout(stack: Stack) -> None:
    timeout = Duration.seconds(CfnParameter(stack, "Timeout", type="Number").value_as_number)
    EventFanout(stack, "Fanout").add_consumer(
        "Audit", handler=new_function(stack, "Fn", timeout=timeout), event_pattern=PATTERN
    )


def _token_shards(stack: Stack) -> None:
    EventFanout(stack, "Fanout", shards=CfnParameter(stack, "N", type="Number").value_as_number)


def _stack_overflows(stack: Stack) -> None:
    fanout = EventFanout(stack, "Fanout")
    for i in range(30):
        fanout.add_consumer(
            f"Consumer{i}", handler=new_function(stack, f"Fn{i}"), event_pattern=PATTERN
        )


def _rule_name_outside_prefix(stack: Stack) -> None:
    bus = events.EventBus.from_event_bus_name(stack, "Default", "default")
    EventFanout(stack, "Fanout", event_bus=bus).add_consumer(
        "Audit", handler=new_function(stack, "Fn"), event_pattern=PATTERN, rule_name="audit"
    )


def _foreign_bus(stack: Stack) -> None:
    bus = events.EventBus.from_event_bus_arn(
        stack, "Central", "arn:aws:events:eu-west-1:999999999999:event-bus/central"
    )
    EventFanout(stack, "Fanout", event_bus=bus)


def _single_alarm_action(stack: Stack) -> None:
    from aws_cdk import aws_sns as sns
    from aws_cdk.aws_cloudwatch_actions import SnsAction

    EventFanout(stack, "Fanout", alarm_actions=SnsAction(sns.Topic(stack, "Alarms")))  # type: ignore[arg-type]


def _old_python(stack: Stack) -> None:
    EventFanout(stack, "Fanout").add_consumer(
        "Audit",
        handler=new_function(stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_9),
        event_pattern=PATTERN,
    )


CASES = [
    Case(
        "max_receive_count_zero",
        {"max_receive_count": 0},
        "max_receive_count",
        "0",
        "between 1 and 1000",
    ),
    Case(
        "max_receive_count_too_high",
        {"max_receive_count": 1001},
        "max_receive_count",
        "1001",
        "between 1 and 1000",
    ),
    Case("batch_size_zero", {"batch_size": 0}, "batch_size", "0", "between 1 and 10000"),
    Case(
        "batch_size_too_high",
        {"batch_size": 10_001, "max_batching_window": Duration.seconds(5)},
        "batch_size",
        "10001",
        "between 1 and 10000",
    ),
    Case(
        "batch_size_without_window",
        {"batch_size": 100},
        "batch_size",
        "100",
        "max_batching_window=Duration.seconds(1)",
    ),
    Case(
        "batching_window_too_long",
        {"max_batching_window": Duration.minutes(6)},
        "max_batching_window",
        "6 minutes",
        "between 0 seconds and 5 minutes",
    ),
    Case(
        "max_concurrency_one", {"max_concurrency": 1}, "max_concurrency", "1", "between 2 and 1000"
    ),
    Case(
        "max_concurrency_too_high",
        {"max_concurrency": 1001},
        "max_concurrency",
        "1001",
        "between 2 and 1000",
    ),
    Case(
        "dlq_retention_not_longer",
        {"retention_period": Duration.days(14)},
        "dead_letter_retention_period",
        "14 days",
        "raise dead_letter_retention_period",
    ),
    Case(
        "dlq_retention_shorter",
        {"dead_letter_retention_period": Duration.days(2)},
        "dead_letter_retention_period",
        "2 days",
        "lower retention_period",
    ),
    Case(
        "retention_too_long",
        {"retention_period": Duration.days(15)},
        "retention_period",
        "15 days",
        "between 1 minute and 14 days",
    ),
    Case(
        "retention_too_short",
        {"retention_period": Duration.seconds(30)},
        "retention_period",
        "30 seconds",
        "between 1 minute and 14 days",
    ),
    Case(
        "visibility_below_timeout",
        {"visibility_timeout": Duration.seconds(20)},
        "visibility_timeout",
        "20 seconds",
        "omit visibility_timeout",
    ),
    Case(
        "visibility_below_timeout_plus_window",
        {"visibility_timeout": Duration.seconds(40), "max_batching_window": Duration.seconds(20)},
        "visibility_timeout",
        "40 seconds",
        "function timeout + batching window (50 s)",
    ),
    Case(
        "visibility_above_twelve_hours",
        {"visibility_timeout": Duration.hours(13)},
        "visibility_timeout",
        "13 hours",
        "at most 12 hours",
    ),
    Case(
        "timeout_makes_visibility_exceed_limit",
        {"max_batching_window": Duration.minutes(5)},
        "handler.timeout",
        "2 hours",
        "lower the function timeout",
        timeout=Duration.hours(2),
    ),
    Case(
        "fifo_without_group",
        {"fifo": True},
        "message_group_id",
        "None",
        'message_group_id="<group>"',
    ),
    Case(
        "fifo_with_json_path_group",
        {"fifo": True, "message_group_id": "$.detail.accountId"},
        "message_group_id",
        "'$.detail.accountId'",
        "EventBridge Pipes",
    ),
    Case(
        "group_id_too_long",
        {"fifo": True, "message_group_id": "g" * 101},
        "message_group_id",
        repr("g" * 101),
        "use a short name",
    ),
    Case(
        "fifo_batch_too_large",
        {"fifo": True, "message_group_id": "g", "batch_size": 11},
        "batch_size",
        "11",
        "FIFO event sources take at most 10",
    ),
    Case(
        "fifo_with_batching_window",
        {"fifo": True, "message_group_id": "g", "max_batching_window": Duration.seconds(2)},
        "max_batching_window",
        "2 seconds",
        "drop max_batching_window",
    ),
    Case(
        "retry_attempts_too_high",
        {"retry_attempts": 186},
        "retry_attempts",
        "186",
        "between 0 and 185",
    ),
    Case(
        "max_event_age_too_short",
        {"max_event_age": Duration.seconds(30)},
        "max_event_age",
        "30 seconds",
        "between 1 minute and 1 day",
    ),
    Case(
        "max_event_age_too_long",
        {"max_event_age": Duration.hours(25)},
        "max_event_age",
        "1 day 1 hour",
        "Duration.hours(24)",
    ),
    Case(
        "max_message_age_too_short",
        {"max_message_age": Duration.seconds(10)},
        "max_message_age",
        "10 seconds",
        "at least 1 minute",
    ),
    Case(
        "empty_event_pattern",
        {"event_pattern": events.EventPattern()},
        "event_pattern",
        "EventPattern",
        'EventPattern(source=["ads.campaigns"])',
    ),
    Case(
        "empty_idempotency_key",
        {"idempotency": Idempotency(key_path=" ")},
        "idempotency.key_path",
        "' '",
        '"[detail.campaignId, detail.version]"',
    ),
    Case(
        "idempotency_expiry_too_short",
        {"idempotency": Idempotency(expires_after=Duration.seconds(5))},
        "idempotency.expires_after",
        "5 seconds",
        "at least 1 minute",
    ),
    Case(
        "same_function_for_two_consumers",
        {},
        "handler",
        "'Test/Fn'",
        "give each consumer its own function",
        build=_second_consumer_same_function,
    ),
    Case(
        "duplicate_consumer_id",
        {},
        "consumer_id",
        "'Audit'",
        "give each consumer its own id",
        path="Test/Fanout",
        build=_duplicate_consumer_id,
    ),
    Case(
        "imported_function",
        {},
        "handler",
        "",
        "an imported function offers neither",
        build=_imported_function,
    ),
    Case(
        "aws_managed_key_consumer",
        {"encryption": sqs.QueueEncryption.KMS_MANAGED},
        "encryption",
        "QueueEncryption.KMS_MANAGED",
        "EventBridge cannot use the AWS-managed alias/aws/sqs key",
    ),
    Case(
        "unencrypted_consumer",
        {"encryption": sqs.QueueEncryption.UNENCRYPTED},
        "encryption",
        "QueueEncryption.UNENCRYPTED",
        "unencrypted queues are not offered",
    ),
    Case(
        "aws_managed_key_fanout",
        {},
        "encryption",
        "QueueEncryption.KMS_MANAGED",
        "pass KMS with or without encryption_key",
        path="Test/Fanout",
        build=_aws_managed_key_fanout,
    ),
    Case(
        "key_with_sqs_managed_fanout",
        {},
        "encryption_key",
        "Key at 'Test/Key'",
        "drop encryption_key",
        path="Test/Fanout",
        build=_key_with_sqs_managed_fanout,
    ),
    Case(
        "key_with_sqs_managed_consumer",
        {},
        "encryption_key",
        "Key at 'Test/Key'",
        "pass encryption=QueueEncryption.KMS with the key",
        build=_key_with_sqs_managed_consumer,
    ),
    Case(
        "bus_and_bus_name",
        {},
        "event_bus_name",
        "'ads'",
        "pass event_bus=",
        path="Test/Fanout",
        build=_bus_and_bus_name,
    ),
    Case(
        "event_bus_given_to_add_consumer",
        {},
        "event_bus",
        "",
        "drop event_bus",
        path="Test/Fanout",
        build=_event_bus_given_to_add_consumer,
    ),
    Case(
        "lambda_action_without_unique_permission_ids",
        {},
        "alarm_actions",
        "'LambdaAction(Responder) without use_unique_permission_id'",
        "LambdaAction(function, use_unique_permission_id=True)",
        build=_lambda_action_without_unique_permission_ids,
    ),
    Case(
        "lambda_action_shared_by_two_fanouts",
        {},
        "alarm_actions",
        "'LambdaAction(Responder) without use_unique_permission_id'",
        "LambdaAction(function, use_unique_permission_id=True)",
        path="Test/Second",
        build=_lambda_action_shared_by_two_fanouts,
    ),
    Case(
        "invalid key path",
        {"idempotency": Idempotency(key_path="[detail.campaignId, detail.version")},
        "idempotency.key_path",
        "'[detail.campaignId, detail.version'",
        "check brackets, commas and quoting",
    ),
    Case(
        "invalid payload validation path",
        {"idempotency": Idempotency(payload_validation_path="detail.[newBudget")},
        "idempotency.payload_validation_path",
        "'detail.[newBudget'",
        "check brackets, commas and quoting",
    ),
    Case(
        "shared table same key prefix",
        {},
        "idempotency.key_prefix",
        "'Audit'",
        "key_prefix='<fan-out>.<consumer>'",
        build=_shared_table_same_prefix,
    ),
    Case(
        "handler in another stack",
        {},
        "handler",
        "Function at 'Functions/Fn'",
        "pass handler= a factory",
        path="Test/Fanout",
        build=_handler_in_another_stack,
    ),
    Case(
        "parent function for a consumer in a shard",
        {},
        "handler",
        "Function at 'Test/Fn'",
        "pass handler= a factory",
        path="Test/Fanout",
        build=_parent_function_in_a_shard,
    ),
    Case(
        "token function timeout",
        {},
        "handler.timeout",
        "",
        "pass visibility_timeout= explicitly",
        build=_token_function_timeout,
    ),
    Case(
        "token shard count",
        {},
        "shards",
        "",
        "pass shards as a number",
        path="Test/Fanout",
        build=_token_shards,
    ),
    Case(
        "stack would overflow",
        {},
        "consumer_id",
        "'Consumer",
        "pass shards=N to EventFanout",
        path="Test/Fanout",
        build=_stack_overflows,
    ),
    Case(
        "rule name outside the fanout prefix",
        {},
        "rule_name",
        "'audit'",
        "drop rule_name",
        path="Test/Fanout",
        build=_rule_name_outside_prefix,
    ),
    Case(
        "duration for a count",
        {"batch_size": Duration.seconds(10)},
        "batch_size",
        "",
        "pass batch_size as a number of items, not a Duration",
    ),
    Case(
        "float batch size",
        {"batch_size": 10.0},
        "batch_size",
        "10.0",
        "pass batch_size=10",
    ),
    Case(
        "number for a duration",
        {"max_batching_window": 5},
        "max_batching_window",
        "5",
        "pass max_batching_window=Duration.seconds(5)",
    ),
    Case(
        "duration in milliseconds",
        {"visibility_timeout": Duration.millis(190_500)},
        "visibility_timeout",
        "",
        "pass visibility_timeout=Duration.seconds(190)",
    ),
    Case(
        "single alarm action",
        {},
        "alarm_actions",
        "",
        "pass a list: alarm_actions=[...]",
        path="Test/Fanout",
        build=_single_alarm_action,
    ),
    Case(
        "invalid bus name",
        {},
        "event_bus_name",
        "'orders events'",
        "pass a name such as 'orders-events'",
        path="Test/Fanout",
        build=lambda stack: EventFanout(stack, "Fanout", event_bus_name="orders events") and None,
    ),
    Case(
        "pattern leaf not a list",
        {"event_pattern": events.EventPattern(source=["a"], detail={"status": "PAID"})},
        "event_pattern.detail.status",
        "'PAID'",
        """pass {"status": ['PAID']}""",
    ),
    Case(
        "pattern source not a list",
        {"event_pattern": events.EventPattern(source="ads.campaigns")},  # type: ignore[arg-type]
        "event_pattern.source",
        "'ads.campaigns'",
        "pass source=['ads.campaigns']",
    ),
    Case(
        "unknown content filter",
        {"event_pattern": events.EventPattern(source=["a"], detail={"id": [{"startsWith": "x"}]})},
        "event_pattern.detail.id",
        "{'startsWith': 'x'}",
        "use one of anything-but, cidr",
    ),
    Case(
        "pattern too long",
        {"event_pattern": events.EventPattern(source=[f"source-{i:04d}" for i in range(200)])},
        "event_pattern",
        "'",
        "match on fewer values",
    ),
    Case(
        "bus in another account",
        {},
        "event_bus",
        "",
        "deploy the fan-out in the bus's account and region",
        path="Test/Fanout",
        build=_foreign_bus,
    ),
    Case(
        "python runtime without a powertools layer",
        {},
        "handler.runtime",
        "'python3.9'",
        "pass attach_runtime_layers=False",
        build=_old_python,
    ),
    Case(
        "message group id too long",
        {"fifo": True, "message_group_id": "g" * 129},
        "message_group_id",
        "'ggg",
        "use a short name such as 'orders'",
    ),
    Case(
        "message group id with a space",
        {"fifo": True, "message_group_id": "my group"},
        "message_group_id",
        "'my group'",
        "use a short name such as 'orders'",
    ),
    Case(
        "layer version zero",
        {"powertools_layer_version": 0},
        "powertools_layer_version",
        "0",
        "Powertools layer versions start at 1",
    ),
    Case(
        "idempotency variables too large",
        {"idempotency": Idempotency(key_path="[" + ", ".join(["detail.x"] * 600) + "]")},
        "idempotency",
        "'",
        "shorten key_path",
    ),
    Case(
        "lag alarm beyond retention",
        {
            "retention_period": Duration.minutes(10),
            "max_message_age": Duration.hours(1),
        },
        "max_message_age",
        "1 hour",
        "lower max_message_age",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fails_with_path_prop_value_and_fix(case: Case) -> None:
    stack = new_stack()
    with pytest.raises(EventFanoutConfigError) as caught:
        if case.build is not None:
            case.build(stack)
        else:
            _add(stack, case)
    message = str(caught.value)
    assert f"{case.path}: {case.prop} " in message
    assert f"got {case.value}" in message
    assert case.fix in message
    assert "Fix: " in message or "must be" in message


def test_fails_when_reserved_construct_id_is_used() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    with pytest.raises(EventFanoutConfigError, match=r"construct_id must be .*got 'Default'"):
        fanout.add_consumer("Default", handler=new_function(stack, "Fn"), event_pattern=PATTERN)


def test_all_problems_are_reported_at_once() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    with pytest.raises(EventFanoutConfigError) as caught:
        fanout.add_consumer(
            "Audit",
            handler=new_function(stack, "Fn"),
            event_pattern=PATTERN,
            max_receive_count=0,
            batch_size=0,
            max_concurrency=1,
        )
    props = {p.prop for p in caught.value.problems}
    assert props == {"max_receive_count", "batch_size", "max_concurrency"}
    assert str(caught.value).count(f"{CONSUMER_PATH}: ") == 3


def test_error_is_a_value_error_so_generic_handlers_catch_it() -> None:
    assert issubclass(EventFanoutConfigError, ValueError)


def test_standalone_consumer_validates_too() -> None:
    stack = new_stack()
    bus = events.EventBus(stack, "Bus")
    with pytest.raises(EventFanoutConfigError, match=re.escape("Test/Solo: max_receive_count")):
        FanoutConsumer(
            stack,
            "Solo",
            event_bus=bus,
            handler=new_function(stack, "Fn"),
            event_pattern=PATTERN,
            max_receive_count=2000,
        )


def test_nothing_is_added_to_the_tree_when_validation_fails() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    fn = new_function(stack, "Fn")
    with pytest.raises(EventFanoutConfigError):
        fanout.add_consumer("Audit", handler=fn, event_pattern=PATTERN, max_receive_count=0)
    # the function is not marked as taken: a corrected consumer can still use it
    fanout.add_consumer("Audit2", handler=fn, event_pattern=PATTERN)
    assert "Audit2" in fanout.consumers
