"""What one FanoutConsumer synthesizes: queues, rule target, event source mapping."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Annotations, Match

from tests.builders import only
from tests.library.conftest import VISIBILITY_CASES, Built

# -- queue ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("timeout", "window", "expected"), VISIBILITY_CASES)
def test_visibility_timeout_is_six_times_function_timeout_plus_window(
    built: Built, timeout: int | None, window: int, expected: int
) -> None:
    assert built.queue(f"Vis{timeout}x{window}")["VisibilityTimeout"] == expected


def test_explicit_visibility_timeout_is_kept_but_warned_when_below_guidance(built: Built) -> None:
    assert built.queue("ExplicitVisibility")["VisibilityTimeout"] == 45
    warnings = Annotations.from_stack(built.stack).find_warning(
        "/Test/Fanout/Consumers/ExplicitVisibility",
        Match.string_like_regexp("below AWS's guidance"),
    )
    assert len(warnings) == 1


def test_queue_retention_defaults_to_four_days_and_dlq_to_fourteen(built: Built) -> None:
    assert built.queue("Plain")["MessageRetentionPeriod"] == 4 * 86400
    assert built.dlq("Plain")["MessageRetentionPeriod"] == 14 * 86400


def test_retention_overrides(built: Built) -> None:
    assert built.queue("Custom")["MessageRetentionPeriod"] == 2 * 86400
    assert built.dlq("Custom")["MessageRetentionPeriod"] == 7 * 86400


def test_redrive_policy_points_at_own_dlq_with_max_receive_count(built: Built) -> None:
    for name, count in (("Plain", 5), ("Custom", 3)):
        redrive = built.queue(name)["RedrivePolicy"]
        assert redrive == {
            "deadLetterTargetArn": {
                "Fn::GetAtt": [built.logical_id(built.consumers[name].dead_letter_queue), "Arn"]
            },
            "maxReceiveCount": count,
        }


def test_dlq_allows_redrive_back_only_from_its_source_queue(built: Built) -> None:
    queue_name = built.queue("Plain")["QueueName"]
    policy = built.dlq("Plain")["RedriveAllowPolicy"]
    assert policy["redrivePermission"] == "byQueue"
    (source_arn,) = policy["sourceQueueArns"]
    joined = "".join(p if isinstance(p, str) else "" for p in source_arn["Fn::Join"][1])
    assert joined.endswith(f":{queue_name}")
    assert ":sqs:" in joined


def test_every_queue_is_encrypted_with_sqs_managed_keys(built: Built) -> None:
    queues = built.template.find_resources("AWS::SQS::Queue")
    assert len(queues) == 2 * len(built.consumers) + 1  # + the undeliverable-events queue
    for props in (q["Properties"] for q in queues.values()):
        assert props.get("SqsManagedSseEnabled") is True


def test_every_queue_denies_requests_without_tls(built: Built) -> None:
    queue_ids = set(built.template.find_resources("AWS::SQS::Queue"))
    protected: set[str] = set()
    for policy in built.template.find_resources("AWS::SQS::QueuePolicy").values():
        props = policy["Properties"]
        denies_tls = any(
            s["Effect"] == "Deny"
            and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            and s["Action"] == "sqs:*"
            for s in props["PolicyDocument"]["Statement"]
        )
        if denies_tls:
            protected.update(q["Ref"] for q in props["Queues"])
    assert protected == queue_ids


def test_only_the_consumers_rule_may_send_to_its_queue(built: Built) -> None:
    consumer = built.consumers["Plain"]
    queue_id = built.logical_id(consumer.queue)
    policy = only(
        built.template.find_resources(
            "AWS::SQS::QueuePolicy", {"Properties": {"Queues": [{"Ref": queue_id}]}}
        )
    )
    allows = [
        {k: v for k, v in s.items() if k != "Sid"}
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert allows == [
        {
            "Action": "sqs:SendMessage",
            "Condition": {
                "ArnEquals": {
                    "aws:SourceArn": {"Fn::GetAtt": [built.logical_id(consumer.rule), "Arn"]}
                }
            },
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
        }
    ]


def test_fifo_consumer_has_fifo_queue_and_dlq_and_group_id(built: Built) -> None:
    queue = built.queue("Fifo")
    assert queue["FifoQueue"] is True
    assert queue["ContentBasedDeduplication"] is True
    assert queue["QueueName"].endswith(".fifo")
    assert built.dlq("Fifo")["FifoQueue"] is True
    (target,) = built.resource(built.consumers["Fifo"].rule)["Targets"]
    assert target["SqsParameters"] == {"MessageGroupId": "budgets"}


def test_standard_consumer_queues_are_not_fifo(built: Built) -> None:
    assert "FifoQueue" not in built.queue("Plain")
    assert "FifoQueue" not in built.dlq("Plain")


# -- rule ----------------------------------------------------------------------------------------


def test_rule_listens_on_the_bus_with_the_consumers_pattern(built: Built) -> None:
    rule = built.resource(built.consumers["Plain"].rule)
    assert rule["EventPattern"] == {"source": ["ads.campaigns"]}
    assert rule["EventBusName"] == {"Ref": built.logical_id(built.fanout.event_bus)}
    assert rule["State"] == "ENABLED"


def test_rule_target_retries_then_dead_letters_to_the_fanout_queue(built: Built) -> None:
    (target,) = built.resource(built.consumers["Plain"].rule)["Targets"]
    assert target["Arn"] == {
        "Fn::GetAtt": [built.logical_id(built.consumers["Plain"].queue), "Arn"]
    }
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert target["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": [built.logical_id(built.fanout.undeliverable_events_queue), "Arn"]}
    }


def test_rule_retry_policy_is_overridable(built: Built) -> None:
    (target,) = built.resource(built.consumers["Custom"].rule)["Targets"]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}


# -- event source mapping ------------------------------------------------------------------------


def test_mapping_reports_batch_item_failures_with_default_batch(built: Built) -> None:
    mapping = built.mapping_of("Plain")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    assert "MaximumBatchingWindowInSeconds" not in mapping
    assert "ScalingConfig" not in mapping
    assert mapping["FunctionName"] == {"Ref": built.logical_id(built.consumers["Plain"].function)}


def test_mapping_batch_window_and_concurrency(built: Built) -> None:
    mapping = built.mapping_of("Batched")
    assert mapping["BatchSize"] == 500
    assert mapping["MaximumBatchingWindowInSeconds"] == 20
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 20}


def test_function_may_consume_only_its_own_queue(built: Built) -> None:
    consumer = built.consumers["Plain"]
    role_id = built.stack.get_logical_id(consumer.function.role.node.default_child)  # type: ignore[union-attr]
    policies = built.template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    )
    statements = [
        s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    sqs_statements = [s for s in statements if any(a.startswith("sqs:") for a in s["Action"])]
    assert len(sqs_statements) == 1
    assert sqs_statements[0]["Resource"] == {
        "Fn::GetAtt": [built.logical_id(consumer.queue), "Arn"]
    }
    assert "sqs:SendMessage" not in sqs_statements[0]["Action"]


def test_a_standard_queue_with_a_group_id_is_a_fair_queue_of_one_tenant() -> None:
    # EventBridge's SQS target sends a fixed MessageGroupId to a standard queue too (SQS fair
    # queues): the queue stays standard, every event of the rule carries the group id.
    from aws_cdk import aws_events as events
    from aws_cdk.assertions import Template

    from event_fanout import EventFanout
    from tests.builders import new_function, new_stack

    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    consumer = fanout.add_consumer(
        "Tenants",
        handler=new_function(stack, "Fn"),
        event_pattern=events.EventPattern(source=["shop.orders"]),
        message_group_id="orders",
    )
    resources = Template.from_stack(stack).to_json()["Resources"]
    queue = resources[stack.get_logical_id(consumer.queue.node.default_child)]["Properties"]
    assert "FifoQueue" not in queue
    (target,) = resources[stack.get_logical_id(consumer.rule.node.default_child)]["Properties"][
        "Targets"
    ]
    assert target["SqsParameters"] == {"MessageGroupId": "orders"}
