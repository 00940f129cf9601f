"""What each consumer's queue and records did over a local run, sampled as the run goes.

``event-fanout local run --report`` draws these samples: the depth of each source queue, the
age of its oldest message and the runtime's processed / duplicate / failed counts. The emulator
keeps no SQS metrics, so the runner samples what CloudWatch would have shown:

- depth: ``ApproximateNumberOfMessages`` (visible) and ``...NotVisible`` (in flight);
- oldest message age: the age (now - ``SentTimestamp``) of the oldest message received since
  the last sample; with none received and messages waiting, the last age grown by the time
  since; 0 once the queue is empty. The runner receives oldest first, as Lambda's poller
  mostly does, so this is what ``ApproximateAgeOfOldestMessage`` reads;
- records: the runtime's own embedded-metric counts, summed since the run started.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from event_fanout.runtime.constants import METRIC_DUPLICATE, METRIC_FAILED, METRIC_PROCESSED

__all__ = ["RunTimeline", "Sample"]


@dataclass(frozen=True)
class Sample:
    """One consumer's state at one moment of the run."""

    #: Seconds since the run started.
    at: float
    visible: int
    in_flight: int
    #: Seconds (see the module docstring).
    oldest_age: float
    #: The runtime's counts since the run started.
    processed: int
    duplicates: int
    failed: int


@dataclass
class RunTimeline:
    """Samples per mapping, at most one every ``interval`` seconds (the last one always)."""

    interval: float = 0.5
    clock: Callable[[], float] = time.time
    started: float = field(init=False)
    #: Mapping uuid -> its samples, oldest first.
    series: dict[str, list[Sample]] = field(default_factory=dict)
    _last_sample: float = field(init=False, default=float("-inf"))
    _oldest_received: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def received(self, mapping_uuid: str, messages: Sequence[Mapping[str, Any]]) -> None:
        """Note the age of the oldest of ``messages`` (SQS messages, ``AttributeNames=All``)."""
        sent = [
            int(m["Attributes"]["SentTimestamp"]) / 1000
            for m in messages
            if "SentTimestamp" in m.get("Attributes", {})
        ]
        if sent:
            age = max(0.0, self.clock() - min(sent))
            self._oldest_received[mapping_uuid] = max(
                age, self._oldest_received.get(mapping_uuid, 0.0)
            )

    def due(self) -> bool:
        """Whether ``interval`` has passed since the last sample."""
        return self.clock() - self._last_sample >= self.interval

    def record(
        self,
        mapping_uuid: str,
        queue_attributes: Mapping[str, str],
        metrics: Mapping[str, float],
    ) -> Sample:
        """Add a sample of one mapping from its queue's attributes and the runtime's counts."""
        now = self.clock()
        self._last_sample = now
        visible = int(queue_attributes.get("ApproximateNumberOfMessages", 0))
        in_flight = int(queue_attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
        delayed = int(queue_attributes.get("ApproximateNumberOfMessagesDelayed", 0))
        samples = self.series.setdefault(mapping_uuid, [])
        at = now - self.started
        if mapping_uuid in self._oldest_received:
            age = self._oldest_received.pop(mapping_uuid)
        elif visible + in_flight + delayed and samples:
            age = samples[-1].oldest_age + (at - samples[-1].at)
        else:
            age = 0.0
        sample = Sample(
            at=at,
            visible=visible,
            in_flight=in_flight,
            oldest_age=age,
            processed=int(metrics.get(METRIC_PROCESSED, 0)),
            duplicates=int(metrics.get(METRIC_DUPLICATE, 0)),
            failed=int(metrics.get(METRIC_FAILED, 0)),
        )
        samples.append(sample)
        return sample
