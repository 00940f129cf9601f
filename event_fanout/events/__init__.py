"""Event types shared by producers and consumers: versions, schemas, the contract check.

:class:`EventType` declares one version of one kind of event (``source``, ``detail-type``, the
pydantic model of its ``detail``); :mod:`~event_fanout.events.compatibility` tells a
compatible change of it from a breaking one; :mod:`~event_fanout.events.contracts` keeps the
committed baseline that ``event-fanout contracts check`` compares the app with. Application
code: pydantic and the standard library, never ``aws_cdk`` (it ships in the runtime layer).
"""

from __future__ import annotations

from event_fanout.events.event_type import EVENT_VERSION_FIELD, EventType, InvalidEventDetailError

__all__ = ["EVENT_VERSION_FIELD", "EventType", "InvalidEventDetailError"]
