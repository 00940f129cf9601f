"""Per-consumer figures after a run: routing, outcomes, dead-letter depth and alarm state.

moto stores alarms but never evaluates them; :func:`evaluate_queue_depth_alarms` plays
CloudWatch for the alarms on SQS queue depth (the DLQ alarms), from the queues' current depth,
and records the state in the emulator with ``SetAlarmState``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from event_fanout.local.runner import DeployedMapping, MappingStats
from event_fanout.local.session import AwsSession

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
_DEPTH_METRIC = "ApproximateNumberOfMessagesVisible"


@dataclass(frozen=True)
class ConsumerFigures:
    """One row of the demo's table."""

    consumer: str
    routed: int
    deliveries: int
    processed: int
    duplicates_skipped: int
    failed_attempts: int
    in_dlq: int
    dlq_alarm: str


def consumer_name(mapping: DeployedMapping) -> str:
    """The consumer's name (the runtime's ``EVENT_FANOUT_CONSUMER``), else the queue's."""
    return mapping.function.environment.get("EVENT_FANOUT_CONSUMER", mapping.queue_name)


def dead_letter_queue_url(session: AwsSession, mapping: DeployedMapping) -> str | None:
    """URL of the source queue's DLQ (from its redrive policy), if it has one."""
    return redrive_target_url(session.client("sqs"), mapping.queue_url)


def redrive_target_url(sqs: Any, queue_url: str) -> str | None:
    """URL of the queue ``queue_url``'s redrive policy sends to, if it has one."""
    import json

    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"]).get(
        "Attributes", {}
    )
    if "RedrivePolicy" not in attributes:
        return None
    arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    account, name = arn.split(":")[4], arn.split(":")[5]
    url: str = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    return url


def queue_depth(sqs: Any, queue_url: str) -> int:
    """Messages in a queue, visible or in flight."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def evaluate_queue_depth_alarms(session: AwsSession) -> dict[str, str]:
    """Set every SQS-depth alarm's state from its queue's current depth; return queue -> state."""
    sqs = session.client("sqs")
    cloudwatch = session.client("cloudwatch")
    states: dict[str, str] = {}
    for alarm in cloudwatch.describe_alarms()["MetricAlarms"]:
        if alarm.get("Namespace") != "AWS/SQS" or alarm.get("MetricName") != _DEPTH_METRIC:
            continue
        queue = next(
            (d["Value"] for d in alarm.get("Dimensions", []) if d["Name"] == "QueueName"), None
        )
        compare = _COMPARISONS.get(alarm.get("ComparisonOperator", ""))
        if queue is None or compare is None:
            continue
        try:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            continue
        depth = float(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        state = "ALARM" if compare(depth, float(alarm["Threshold"])) else "OK"
        cloudwatch.set_alarm_state(
            AlarmName=alarm["AlarmName"],
            StateValue=state,
            StateReason=f"local evaluation: {queue} holds {depth:.0f} message(s)",
        )
        states[queue] = state
    return states


def consumer_figures(
    session: AwsSession,
    mappings: list[DeployedMapping],
    stats: dict[str, MappingStats],
    duplicate_copies: dict[str, int],
) -> list[ConsumerFigures]:
    """The table rows, one per mapping (alarm states are evaluated first)."""
    sqs = session.client("sqs")
    alarm_states = evaluate_queue_depth_alarms(session)
    rows = []
    for mapping in mappings:
        mapping_stats = stats[mapping.uuid]
        dlq_url = dead_letter_queue_url(session, mapping)
        dlq_name = dlq_url.rsplit("/", 1)[-1] if dlq_url else ""
        copies = duplicate_copies.get(mapping.uuid, 0)
        rows.append(
            ConsumerFigures(
                consumer=consumer_name(mapping),
                routed=mapping_stats.distinct_messages - copies,
                deliveries=mapping_stats.distinct_messages,
                processed=int(mapping_stats.metrics.get("Processed", 0)),
                duplicates_skipped=int(mapping_stats.metrics.get("Duplicate", 0)),
                failed_attempts=int(mapping_stats.metrics.get("Failed", 0))
                + mapping_stats.batch_errors,
                in_dlq=queue_depth(sqs, dlq_url) if dlq_url else 0,
                dlq_alarm=alarm_states.get(dlq_name, "-"),
            )
        )
    return rows
