"""Fix for replays from an archive (``replay_filter_and_window``).

moto 5.2.5's ``Replay.replay_events`` sends *every* archived event to *every* rule of the bus,
with a new event id. EventBridge (``StartReplay``) replays only the events whose time lies
between ``EventStartTime`` and ``EventEndTime``, only to the rules named in
``Destination.FilterArns`` when it is given, and marks each with ``replay-name``. A replay meant
for one consumer would otherwise reach every consumer and a whole archive's worth of history.
Replayed events keep their original ``id``, so a consumer keyed on it recognises an event it has
already processed; that is the behaviour ``event-fanout replay`` relies on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from event_fanout.local.moto_compat.guards import CompatFix, require_fingerprint

_REPLAY_EVENTS_FINGERPRINT = "9752fdb56ebb87d6"


def event_time(value: Any) -> float | None:
    """An event's or a window's time in epoch seconds (moto keeps numbers or ISO strings).

    Examples
    --------
    >>> event_time("2026-12-01T10:00:00Z")
    1796119200.0
    >>> event_time(1796119200)
    1796119200.0

    """
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _check() -> None:
    from moto.events.models import Replay

    require_fingerprint(
        Replay.replay_events, _REPLAY_EVENTS_FINGERPRINT, "replay_filter_and_window"
    )


def _apply() -> None:
    from moto.core.utils import unix_time
    from moto.events.models import Archive, Replay, ReplayState, events_backends

    def replay_events(self: Any, archive: Archive) -> None:
        event_bus_name = self.destination["Arn"].split("/")[-1]
        backend = events_backends[self.account_id][self.region]
        event_bus = backend.describe_event_bus(event_bus_name)
        filter_arns = set(self.destination.get("FilterArns") or [])
        rules = [r for r in event_bus.rules.values() if not filter_arns or r.arn in filter_arns]
        start, end = event_time(self.event_start_time), event_time(self.event_end_time)
        for event in archive.events:
            at = event_time(event.get("time"))
            if at is None or (start is not None and at < start) or (end is not None and at > end):
                continue
            replayed = dict(event, **{"replay-name": self.name})
            for rule in rules:
                rule.send_to_targets(replayed, transform_input=False)  # type: ignore[arg-type]
        self.state = ReplayState.COMPLETED
        self.end_time = unix_time()

    replay_events._event_fanout_compat = True  # type: ignore[attr-defined]
    Replay.replay_events = replay_events  # type: ignore[method-assign]


#: The fixes of this module, in the order they are checked and applied.
FIXES: tuple[CompatFix, ...] = (
    CompatFix(
        "replay_filter_and_window",
        "a replay reaches every rule with every archived event, under new event ids",
        _check,
        _apply,
    ),
)
