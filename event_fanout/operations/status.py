"""How a deployed fan-out is doing, lag first: queues, dead letters, alarms, the runtime's counts.

Per consumer: messages visible, in flight and delayed (``GetQueueAttributes``), the age of the
oldest message (SQS's ``ApproximateAgeOfOldestMessage`` in CloudWatch, the lag alarm's metric),
the DLQ's depth, the state of each alarm, and what the runtime counted in the last minutes
(``Processed``, ``Duplicate``, ``Failed`` under its ``EventFanout`` namespace). Per fan-out: the
undeliverable-events queue. One ``GetMetricData`` and one ``DescribeAlarms`` call per 100
consumers; a queue's depth is one call each.

The order puts the consumer in trouble on top: an alarm in ALARM first, then the oldest
message, then dead letters, then the backlog.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from event_fanout.local.session import AwsSession
from event_fanout.operations.discovery import Consumer, Fanout
from event_fanout.runtime import constants

__all__ = ["ConsumerStatus", "FanoutStatus", "fanout_status", "in_trouble_first"]

#: The runtime's counts shown per consumer (metric name -> column).
RUNTIME_COUNTS: Mapping[str, str] = {
    constants.METRIC_PROCESSED: "processed",
    constants.METRIC_DUPLICATE: "duplicates",
    constants.METRIC_FAILED: "failed",
}
#: GetMetricData takes at most 500 queries, DescribeAlarms 100 names.
_MAX_QUERIES = 500
_MAX_ALARM_NAMES = 100
#: SQS publishes its metrics once a minute, a few minutes late.
_AGE_WINDOW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class ConsumerStatus:
    """One consumer's state."""

    fanout: str
    consumer: str
    visible: int
    in_flight: int
    delayed: int
    #: Seconds; None when CloudWatch has no datapoint (an idle queue, or the emulator).
    oldest_message_age: float | None
    dead_letter_depth: int
    #: Alarm attribute -> state (OK, ALARM, INSUFFICIENT_DATA).
    alarms: Mapping[str, str] = field(default_factory=dict)
    #: ``processed`` / ``duplicates`` / ``failed`` over the window; None without datapoints.
    counts: Mapping[str, float | None] = field(default_factory=dict)

    @property
    def alarming(self) -> list[str]:
        """The alarms in ALARM."""
        return sorted(name for name, state in self.alarms.items() if state == "ALARM")

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``--json``."""
        return {**asdict(self), "alarming": self.alarming}


@dataclass(frozen=True)
class FanoutStatus:
    """One fan-out's state: its undeliverable-events queue, then its consumers, worst first."""

    fanout: str
    stack: str
    undeliverable_events: int
    undeliverable_events_alarm: str | None
    consumers: list[ConsumerStatus]

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``--json``."""
        return {
            "fanout": self.fanout,
            "stack": self.stack,
            "undeliverable_events": self.undeliverable_events,
            "undeliverable_events_alarm": self.undeliverable_events_alarm,
            "consumers": [c.to_json() for c in self.consumers],
        }


def in_trouble_first(status: ConsumerStatus) -> tuple[Any, ...]:
    """Sort key: alarms in ALARM, then the oldest message, dead letters, backlog, name."""
    return (
        not status.alarming,
        -(status.oldest_message_age or 0.0),
        -status.dead_letter_depth,
        -(status.visible + status.in_flight),
        status.consumer,
    )


def fanout_status(
    session: AwsSession,
    fanouts: Sequence[Fanout],
    *,
    minutes: int = 15,
    now: dt.datetime | None = None,
) -> list[FanoutStatus]:
    """The state of every consumer of ``fanouts``; counts over the last ``minutes``."""
    now = now or dt.datetime.now(dt.UTC)
    sqs = session.client("sqs")
    consumers = [c for f in fanouts for c in f.consumers]
    metrics = _metrics(session.client("cloudwatch"), consumers, minutes, now)
    alarm_names = [name for c in consumers for name in c.alarms.values()]
    alarm_names += [f.undeliverable_events_alarm for f in fanouts if f.undeliverable_events_alarm]
    states = _alarm_states(session.client("cloudwatch"), alarm_names)
    result = []
    for fanout in fanouts:
        statuses = []
        for consumer in fanout.consumers:
            depth = _depth(sqs, consumer.queue.url)
            statuses.append(
                ConsumerStatus(
                    fanout=fanout.path,
                    consumer=consumer.name,
                    visible=depth["ApproximateNumberOfMessages"],
                    in_flight=depth["ApproximateNumberOfMessagesNotVisible"],
                    delayed=depth["ApproximateNumberOfMessagesDelayed"],
                    oldest_message_age=metrics.get((consumer.path, "age")),
                    dead_letter_depth=sum(_depth(sqs, consumer.dead_letter_queue.url).values()),
                    alarms={
                        attribute: states.get(name, "UNKNOWN")
                        for attribute, name in consumer.alarms.items()
                    },
                    counts={
                        column: metrics.get((consumer.path, column))
                        for column in RUNTIME_COUNTS.values()
                    },
                )
            )
        result.append(
            FanoutStatus(
                fanout=fanout.path,
                stack=fanout.stack,
                undeliverable_events=sum(
                    _depth(sqs, fanout.undeliverable_events_queue.url).values()
                ),
                undeliverable_events_alarm=(
                    states.get(fanout.undeliverable_events_alarm)
                    if fanout.undeliverable_events_alarm
                    else None
                ),
                consumers=sorted(statuses, key=in_trouble_first),
            )
        )
    return result


def _depth(sqs: Any, queue_url: str) -> dict[str, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return {name: int(value) for name, value in attributes.items()}


def _metrics(
    cloudwatch: Any, consumers: Iterable[Consumer], minutes: int, now: dt.datetime
) -> dict[tuple[str, str], float | None]:
    """(consumer path, column) -> value: the oldest message's age and the runtime's counts."""
    queries: list[dict[str, Any]] = []
    keys: dict[str, tuple[tuple[str, str], str]] = {}
    for consumer in consumers:
        dimensions = [
            {"Name": "service", "Value": consumer.metrics_service},
            {"Name": constants.METRIC_DIMENSION_CONSUMER, "Value": consumer.name},
        ]
        wanted = [
            (
                "age",
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                [{"Name": "QueueName", "Value": consumer.queue.name}],
                "Maximum",
                60,
            ),
            *(
                (
                    column,
                    constants.DEFAULT_METRICS_NAMESPACE,
                    metric,
                    dimensions,
                    "Sum",
                    minutes * 60,
                )
                for metric, column in RUNTIME_COUNTS.items()
            ),
        ]
        for column, namespace, metric, dims, stat, period in wanted:
            query_id = f"q{len(queries)}"
            keys[query_id] = ((consumer.path, column), stat)
            queries.append(
                {
                    "Id": query_id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": namespace,
                            "MetricName": metric,
                            "Dimensions": dims,
                        },
                        "Period": period,
                        "Stat": stat,
                    },
                    "ReturnData": True,
                }
            )
    values: dict[tuple[str, str], float | None] = {}
    start = now - max(dt.timedelta(minutes=minutes), _AGE_WINDOW)
    for offset in range(0, len(queries), _MAX_QUERIES):
        paginator = cloudwatch.get_paginator("get_metric_data")
        for page in paginator.paginate(
            MetricDataQueries=queries[offset : offset + _MAX_QUERIES],
            StartTime=start,
            # A minute ahead: the API reads times to the second, and a datapoint of the last
            # second would fall outside the window.
            EndTime=now + dt.timedelta(minutes=1),
            ScanBy="TimestampDescending",
        ):
            for result in page.get("MetricDataResults", []):
                key, stat = keys[result["Id"]]
                points = result.get("Values") or []
                if not points:
                    continue
                # The age: the latest minute's maximum. A count: the window's sum.
                value = float(points[0]) if stat == "Maximum" else float(sum(points))
                values[key] = value if key not in values else _combine(values[key], value, stat)
    return values


def _combine(old: float | None, new: float, stat: str) -> float:
    if old is None:
        return new
    return old if stat == "Maximum" else old + new


def _alarm_states(cloudwatch: Any, names: Sequence[str]) -> dict[str, str]:
    states: dict[str, str] = {}
    for offset in range(0, len(names), _MAX_ALARM_NAMES):
        chunk = list(names[offset : offset + _MAX_ALARM_NAMES])
        paginator = cloudwatch.get_paginator("describe_alarms")
        for page in paginator.paginate(AlarmNames=chunk, AlarmTypes=["MetricAlarm"]):
            for alarm in page.get("MetricAlarms", []):
                states[alarm["AlarmName"]] = alarm["StateValue"]
    return states
