"""Alarms a team can tune: each can be turned off, its threshold and periods set, per consumer."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template

from event_fanout import (
    AlarmOptions,
    ConsumerAlarmOptions,
    EventFanout,
    EventFanoutConfigError,
    FanoutConsumer,
)
from tests.builders import new_function, new_stack

PATTERN = events.EventPattern(source=["shop.orders"])


def _consumer(**options: Any) -> tuple[FanoutConsumer, dict[str, Any]]:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    consumer = fanout.add_consumer(
        "Billing", handler=new_function(stack, "Fn"), event_pattern=PATTERN, **options
    )
    return consumer, Template.from_stack(stack).to_json()["Resources"]


def _alarm(consumer: FanoutConsumer, resources: dict[str, Any], name: str) -> dict[str, Any]:
    alarm = consumer.alarms.alarm(name)
    logical_id = Stack.of(consumer).get_logical_id(alarm.node.default_child)  # type: ignore[arg-type]
    props: dict[str, Any] = resources[logical_id]["Properties"]
    return props


def test_by_default_seven_alarms_fire_on_the_first_breaching_period() -> None:
    consumer, resources = _consumer()
    assert [a.node.id for a in consumer.alarms.all] == [
        f"Billing{n}"
        for n in (
            "DeadLetterQueueDepth",
            "OldestMessageAge",
            "FunctionErrors",
            "FunctionThrottles",
            "RuleFailedInvocations",
            "FailedRecords",
            "EventsDropped",
        )
    ]
    assert consumer.alarms.failed_record_rate is None and consumer.alarms.no_events is None
    for name in consumer.alarms.resources:
        props = _alarm(consumer, resources, name)
        assert props["EvaluationPeriods"] == 1 and "DatapointsToAlarm" not in props


def test_an_alarm_turned_off_is_not_created_nor_offered_for_actions() -> None:
    consumer, resources = _consumer(
        alarms=ConsumerAlarmOptions(failed_records=AlarmOptions(enabled=False))
    )
    assert consumer.alarms.failed_records is None
    assert "failed_records" not in consumer.alarms.resources
    alarms = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) == 6 + 1  # the consumer's six + the fan-out's undeliverable-events alarm
    with pytest.raises(ValueError, match=r"failed_records.*turned off"):
        consumer.alarms.add_actions(alarms=["failed_records"])


def test_threshold_and_m_out_of_n_periods_are_set_per_alarm() -> None:
    consumer, resources = _consumer(
        alarms=ConsumerAlarmOptions(
            dead_letter_queue_depth=AlarmOptions(
                threshold=10, evaluation_periods=3, datapoints_to_alarm=2
            ),
            function_errors=AlarmOptions(threshold=5),
        )
    )
    dlq = _alarm(consumer, resources, "dead_letter_queue_depth")
    assert (dlq["Threshold"], dlq["EvaluationPeriods"], dlq["DatapointsToAlarm"]) == (10, 3, 2)
    assert _alarm(consumer, resources, "function_errors")["Threshold"] == 5
    assert _alarm(consumer, resources, "failed_records")["Threshold"] == 1  # untouched


def test_the_failed_record_rate_alarm_divides_failures_by_records_handled() -> None:
    consumer, resources = _consumer(
        alarms=ConsumerAlarmOptions(
            failed_records=AlarmOptions(enabled=False),
            failed_record_rate=AlarmOptions(enabled=True, threshold=2),
        )
    )
    props = _alarm(consumer, resources, "failed_record_rate")
    assert props["Threshold"] == 2
    (expression,) = [m for m in props["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "IF(p + d + f > 0, 100 * f / (p + d + f), 0)"
    inputs = {m["Id"]: m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m}
    assert {k: v["MetricName"] for k, v in inputs.items()} == {
        "f": "Failed",
        "p": "Processed",
        "d": "Duplicate",
    }
    assert "dlq peek Billing" in props["AlarmDescription"]


def test_the_no_events_alarm_fires_on_too_little_traffic_and_on_silence() -> None:
    consumer, resources = _consumer(
        alarms=ConsumerAlarmOptions(no_events=AlarmOptions(enabled=True, threshold=10))
    )
    props = _alarm(consumer, resources, "no_events")
    assert props["ComparisonOperator"] == "LessThanThreshold"
    assert props["TreatMissingData"] == "breaching"
    assert props["Threshold"] == 10
    assert {m["MetricStat"]["Period"] for m in props["Metrics"] if "MetricStat" in m} == {3600}


@pytest.mark.parametrize(
    ("options", "prop", "says"),
    [
        (
            ConsumerAlarmOptions(failed_records=AlarmOptions(threshold=-1)),
            "alarms.failed_records.threshold",
            "must be a number above 0",
        ),
        (
            ConsumerAlarmOptions(failed_record_rate=AlarmOptions(enabled=True, threshold=150)),
            "alarms.failed_record_rate.threshold",
            "at most 100",
        ),
        (
            ConsumerAlarmOptions(
                dead_letter_queue_depth=AlarmOptions(evaluation_periods=2, datapoints_to_alarm=3)
            ),
            "alarms.dead_letter_queue_depth.datapoints_to_alarm",
            "from 1 to evaluation_periods (2)",
        ),
        (
            ConsumerAlarmOptions(function_errors=AlarmOptions(evaluation_periods=0)),
            "alarms.function_errors.evaluation_periods",
            "1-100",
        ),
        (
            ConsumerAlarmOptions(oldest_message_age=AlarmOptions(threshold=600)),
            "alarms.oldest_message_age.threshold",
            "pass max_message_age",
        ),
        ("all off", "alarms", "must be a ConsumerAlarmOptions"),
    ],
)
def test_invalid_alarm_options_fail_at_synth_naming_the_field(
    options: Any, prop: str, says: str
) -> None:
    with pytest.raises(EventFanoutConfigError) as caught:
        _consumer(alarms=options)
    message = str(caught.value)
    assert f"Test/Fanout/Consumers/Billing: {prop} " in message
    assert says in message
