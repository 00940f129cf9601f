"""Replay a fan-out's archived events to one consumer: after a fix, or to try a new version.

``StartReplay`` sends the archive's events of a time window back to the bus, and
``Destination.FilterArns`` limits it to the consumer's rule: the other consumers see nothing.
EventBridge keeps each event's ``id`` and adds ``replay-name``. So by default a replayed event
the consumer already processed is skipped by its idempotency (safe to run twice); a replay named
``reprocess-...`` (``reprocess=True``) is keyed in a namespace of its own by the runtime, so the
consumer runs those events again, once per replay (see
``event_fanout.runtime.constants.REPROCESS_REPLAY_PREFIX``).

A replay processes the window a minute at a time; its progress is ``EventLastReplayedTime``
within the window.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from event_fanout.operations.discovery import Consumer, DiscoveryError, Fanout
from event_fanout.runtime.constants import REPROCESS_REPLAY_PREFIX

__all__ = ["ReplayResult", "parse_time", "replay_name", "start_replay", "wait_for_replay"]

#: EventBridge's limits on a replay name.
_NAME_LENGTH = 64
_NAME_UNSAFE = re.compile(r"[^.\-_A-Za-z0-9]")
_DONE = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
#: (fraction of the window replayed, state) while a replay runs.
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ReplayResult:
    """How a replay ended."""

    name: str
    state: str
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``--json``."""
        return asdict(self)


def parse_time(text: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """``--from`` / ``--to``: ISO 8601 (UTC unless it says otherwise), ``now``, or ``-2h``/``-30m``.

    Examples
    --------
    >>> parse_time("2026-12-01T10:00:00Z").isoformat()
    '2026-12-01T10:00:00+00:00'
    >>> parse_time("-90m", now=dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)).isoformat()
    '2026-12-01T10:30:00+00:00'

    """
    now = now or dt.datetime.now(dt.UTC)
    text = text.strip()
    if text == "now":
        return now
    relative = re.fullmatch(r"-(\d+)([smhd])", text)
    if relative:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[relative[2]]
        return now - dt.timedelta(**{unit: int(relative[1])})
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use ISO 8601 (2026-12-01T10:00:00Z), now, or -2h / -30m"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def replay_name(consumer: str, *, reprocess: bool, now: dt.datetime | None = None) -> str:
    """A unique, valid replay name that says what it is for.

    Examples
    --------
    >>> replay_name("Billing", reprocess=True, now=dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC))
    'reprocess-Billing-20261201T100000'

    """
    now = now or dt.datetime.now(dt.UTC)
    prefix = REPROCESS_REPLAY_PREFIX if reprocess else "replay-"
    stamp = now.strftime("%Y%m%dT%H%M%S")
    middle = _NAME_UNSAFE.sub("-", consumer)[: _NAME_LENGTH - len(prefix) - len(stamp) - 1]
    return f"{prefix}{middle}-{stamp}"


def start_replay(
    events: Any,
    fanout: Fanout,
    consumer: Consumer,
    start: dt.datetime,
    end: dt.datetime,
    *,
    reprocess: bool = False,
    name: str | None = None,
) -> str:
    """Start replaying the window ``[start, end]`` of the archive to ``consumer``'s rule only."""
    if fanout.archive_arn is None or fanout.bus_arn is None:
        raise DiscoveryError(f"{fanout.path} has no archive: give it archive_retention to replay")
    if consumer.rule_arn is None:
        raise DiscoveryError(f"{consumer.path}: its rule is not deployed")
    if start >= end:
        raise ValueError(f"--from ({start.isoformat()}) must be before --to ({end.isoformat()})")
    name = name or replay_name(consumer.name, reprocess=reprocess)
    events.start_replay(
        ReplayName=name,
        Description=f"{consumer.path}: {start.isoformat()} to {end.isoformat()}",
        EventSourceArn=fanout.archive_arn,
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": fanout.bus_arn, "FilterArns": [consumer.rule_arn]},
    )
    return name


def wait_for_replay(
    events: Any,
    name: str,
    *,
    on_progress: Progress | None = None,
    poll_seconds: float = 5.0,
    timeout: float | None = None,
) -> ReplayResult:
    """Poll ``DescribeReplay`` until the replay completes, fails or is cancelled."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        replay = events.describe_replay(ReplayName=name)
        state = str(replay.get("State", "STARTING"))
        if on_progress is not None:
            on_progress(_fraction(replay), state)
        if state in _DONE:
            return ReplayResult(name, state, replay.get("StateReason"))
        if deadline is not None and time.monotonic() > deadline:
            return ReplayResult(name, state, "still running when the wait ended")
        time.sleep(poll_seconds)


def _fraction(replay: dict[str, Any]) -> float:
    if replay.get("State") == "COMPLETED":
        return 1.0
    start, end = replay.get("EventStartTime"), replay.get("EventEndTime")
    last = replay.get("EventLastReplayedTime")
    if not (
        isinstance(start, dt.datetime)
        and isinstance(end, dt.datetime)
        and isinstance(last, dt.datetime)
        and start < end
    ):
        return 0.0
    return max(0.0, min(1.0, (last - start) / (end - start)))
