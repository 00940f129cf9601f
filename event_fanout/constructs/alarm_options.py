"""Which of a consumer's alarms exist, and when each fires: options a team tunes per consumer.

Every alarm keeps today's behaviour by default (on, its own threshold, one evaluation period).
A team turns one off (``enabled=False``), raises a threshold where a count misleads, or asks
for several breaching periods before it pages. Two alarms are off by default:
``failed_record_rate`` (failed records as a share of the records handled: the alarm for a
high-volume consumer, where a few failures an hour are normal and ``failed_records``, which
fires on any, is the one to turn off) and ``no_events`` (for a consumer that should always see
traffic: fewer events than the threshold in an hour means an upstream producer or a rule broke).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Final

from event_fanout.errors import ConfigProblem

__all__ = [
    "ALARM_DEFAULTS",
    "DEFAULT_ALARMS",
    "AlarmOptions",
    "ConsumerAlarmOptions",
    "alarm_option_problems",
]


@dataclass(frozen=True, kw_only=True)
class AlarmOptions:
    """One alarm's switch and trigger.

    Parameters
    ----------
    enabled:
        Create the alarm. Default: True (``failed_record_rate`` and ``no_events``: False).
    threshold:
        The alarm's threshold, in its metric's unit (messages, failures, percent, events per
        hour; see :class:`ConsumerAlarmOptions`). Default: None (the alarm's own default).
    evaluation_periods:
        Periods over which the metric is compared with the threshold. Default: 1.
    datapoints_to_alarm:
        Breaching periods among ``evaluation_periods`` that raise the alarm ("M out of N").
        Default: None (all of them).

    """

    enabled: bool = True
    threshold: float | None = None
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None


#: Each alarm's default threshold and the unit it is read in (``oldest_message_age``'s comes
#: from ``max_message_age``).
ALARM_DEFAULTS: Final[dict[str, tuple[float | None, str]]] = {
    "dead_letter_queue_depth": (1, "messages in the DLQ"),
    "oldest_message_age": (None, "seconds (set max_message_age instead)"),
    "function_errors": (1, "failed invocations in 5 minutes"),
    "function_throttles": (1, "throttled invocations in 5 minutes"),
    "rule_failed_invocations": (1, "failed deliveries in 5 minutes"),
    "failed_records": (1, "failed records in 5 minutes"),
    "events_dropped": (1, "dropped events in 5 minutes"),
    "failed_record_rate": (5, "percent of the records handled in 5 minutes"),
    "no_events": (1, "events an hour (alarms below it)"),
}


@dataclass(frozen=True, kw_only=True)
class ConsumerAlarmOptions:
    """The options of each of a consumer's alarms (attribute names as on ``ConsumerAlarms``).

    Thresholds are in each alarm's unit: ``dead_letter_queue_depth`` messages (default 1);
    ``function_errors``, ``function_throttles``, ``rule_failed_invocations``,
    ``failed_records``, ``events_dropped`` counts in 5 minutes (default 1);
    ``failed_record_rate`` percent of the records handled in 5 minutes (default 5, off by
    default); ``no_events`` events an hour, alarming below it (default 1, off by default).
    ``oldest_message_age``'s threshold is ``max_message_age``: pass that instead.

    Examples
    --------
    >>> ConsumerAlarmOptions(failed_records=AlarmOptions(enabled=False),
    ...                      failed_record_rate=AlarmOptions(enabled=True, threshold=2))
    ... # doctest: +ELLIPSIS
    ConsumerAlarmOptions(...)

    """

    dead_letter_queue_depth: AlarmOptions = AlarmOptions()
    oldest_message_age: AlarmOptions = AlarmOptions()
    function_errors: AlarmOptions = AlarmOptions()
    function_throttles: AlarmOptions = AlarmOptions()
    rule_failed_invocations: AlarmOptions = AlarmOptions()
    failed_records: AlarmOptions = AlarmOptions()
    events_dropped: AlarmOptions = AlarmOptions()
    failed_record_rate: AlarmOptions = AlarmOptions(enabled=False)
    no_events: AlarmOptions = AlarmOptions(enabled=False)

    def of(self, alarm: str) -> AlarmOptions:
        """The options of ``alarm`` (an attribute name)."""
        options: AlarmOptions = getattr(self, alarm)
        return options

    def threshold(self, alarm: str) -> float | None:
        """``alarm``'s threshold: the one given, else its default."""
        given = self.of(alarm).threshold
        return ALARM_DEFAULTS[alarm][0] if given is None else given


#: Every alarm as it is by default.
DEFAULT_ALARMS: Final = ConsumerAlarmOptions()


def alarm_option_problems(path: str, options: object) -> list[ConfigProblem]:
    """Every problem of an ``alarms=`` argument, each naming ``alarms.<alarm>.<field>``."""
    if not isinstance(options, ConsumerAlarmOptions):
        return [
            ConfigProblem(
                path,
                "alarms",
                options,
                "must be a ConsumerAlarmOptions",
                "pass alarms=ConsumerAlarmOptions(failed_records=AlarmOptions(...), ...)",
            )
        ]
    problems = []
    for field in fields(ConsumerAlarmOptions):
        alarm, prop = field.name, f"alarms.{field.name}"
        value = getattr(options, alarm)
        if not isinstance(value, AlarmOptions):
            problems.append(
                ConfigProblem(
                    path, prop, value, "must be an AlarmOptions", f"pass {alarm}=AlarmOptions(...)"
                )
            )
            continue
        problems += _one_alarm(path, alarm, value)
    return problems


def _one_alarm(path: str, alarm: str, options: AlarmOptions) -> list[ConfigProblem]:
    prop = f"alarms.{alarm}"
    problems = []
    if not isinstance(options.enabled, bool):
        problems.append(
            ConfigProblem(
                path,
                f"{prop}.enabled",
                options.enabled,
                "must be True or False",
                f"pass {alarm}=AlarmOptions(enabled=False) to turn the alarm off",
            )
        )
    threshold = options.threshold
    if threshold is not None:
        if alarm == "oldest_message_age":
            problems.append(
                ConfigProblem(
                    path,
                    f"{prop}.threshold",
                    threshold,
                    "is max_message_age (the lag that should page you)",
                    "pass max_message_age=Duration.minutes(...) instead",
                )
            )
        elif not _positive_number(threshold) or (alarm == "failed_record_rate" and threshold > 100):
            allowed = (
                "a percentage above 0, at most 100"
                if alarm == "failed_record_rate"
                else (f"a number above 0 ({ALARM_DEFAULTS[alarm][1]})")
            )
            problems.append(
                ConfigProblem(
                    path,
                    f"{prop}.threshold",
                    threshold,
                    f"must be {allowed}",
                    f"pass such a threshold, or None for the default ({ALARM_DEFAULTS[alarm][0]})",
                )
            )
    periods = options.evaluation_periods
    if not _whole(periods) or not 1 <= periods <= 100:
        problems.append(
            ConfigProblem(
                path,
                f"{prop}.evaluation_periods",
                periods,
                "must be a whole number, 1-100",
                "pass evaluation_periods=1 (alarm on the first breaching period) or more",
            )
        )
    points = options.datapoints_to_alarm
    if points is not None and (
        not _whole(points) or not 1 <= points <= (periods if _whole(periods) else 100)
    ):
        problems.append(
            ConfigProblem(
                path,
                f"{prop}.datapoints_to_alarm",
                points,
                f"must be a whole number from 1 to evaluation_periods ({periods})",
                "raise evaluation_periods, or lower datapoints_to_alarm",
            )
        )
    return problems


def _positive_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
