"""The run's samples: what ``local run --report`` charts for each consumer."""

from __future__ import annotations

import pytest

from event_fanout.local.timeline import RunTimeline


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _queue(visible: int, in_flight: int = 0, delayed: int = 0) -> dict[str, str]:
    return {
        "ApproximateNumberOfMessages": str(visible),
        "ApproximateNumberOfMessagesNotVisible": str(in_flight),
        "ApproximateNumberOfMessagesDelayed": str(delayed),
    }


def _sent(at: float) -> dict[str, dict[str, str]]:
    return {"Attributes": {"SentTimestamp": str(int(at * 1000))}}


def test_the_oldest_age_is_that_of_the_oldest_message_received_since_the_last_sample() -> None:
    clock = Clock(1_000.0)
    timeline = RunTimeline(clock=clock)
    clock.now = 1_010.0
    timeline.received("m", [_sent(1_004.0), _sent(1_001.0)])  # 6 s and 9 s old
    clock.now = 1_011.0
    timeline.received("m", [_sent(1_008.0)])
    sample = timeline.record("m", _queue(5, 2), {"Processed": 3, "Duplicate": 1, "Failed": 2})

    assert sample.at == pytest.approx(11.0)
    assert sample.oldest_age == pytest.approx(9.0)
    assert (sample.visible, sample.in_flight) == (5, 2)
    assert (sample.processed, sample.duplicates, sample.failed) == (3, 1, 2)


def test_waiting_messages_age_between_receipts_and_an_empty_queue_has_none() -> None:
    clock = Clock(0.0)
    timeline = RunTimeline(clock=clock)
    clock.now = 2.0
    timeline.received("m", [_sent(0.5)])
    timeline.record("m", _queue(3), {})
    # Nothing received for 3 s (every message waits for its retry): the age grows with time.
    clock.now = 5.0
    assert timeline.record("m", _queue(0, delayed=3), {}).oldest_age == pytest.approx(4.5)
    clock.now = 6.0
    assert timeline.record("m", _queue(0), {}).oldest_age == 0.0


def test_samples_are_taken_at_most_once_an_interval() -> None:
    clock = Clock(0.0)
    timeline = RunTimeline(interval=0.5, clock=clock)
    assert timeline.due()
    timeline.record("m", _queue(1), {})
    clock.now = 0.4
    assert not timeline.due()
    clock.now = 0.5
    assert timeline.due()


def test_mappings_are_sampled_apart() -> None:
    clock = Clock(0.0)
    timeline = RunTimeline(clock=clock)
    clock.now = 3.0
    timeline.received("a", [_sent(1.0)])
    assert timeline.record("b", _queue(1), {}).oldest_age == 0.0  # b received nothing
    assert timeline.record("a", _queue(1), {}).oldest_age == pytest.approx(2.0)
    assert sorted(timeline.series) == ["a", "b"]
