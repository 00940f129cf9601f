"""An event type declared once, in Python, and shared by the producers and consumers of it.

Once several services consume an event, changing its shape is a migration: the event type is
the contract. It names the event (``source``, ``detail-type``), the contract's version and the
pydantic model of its ``detail``:

- producers publish through it (:meth:`EventType.entry`): the detail is validated against the
  model before it leaves, and stamped with its version (``detail.eventVersion``);
- consumers subscribe to it: ``add_consumer(event_type=..., event_versions=...)`` derives the
  rule's pattern, and ``fanout_consumer(event_type=...)`` parses with its model and refuses
  (as a failed record, dead-lettered with the reason) an event of a version it does not accept;
- ``event-fanout contracts check`` compares it with the committed baseline, and the fan-out
  publishes it to an EventBridge schema registry.

An additive change (a new optional field) keeps the version; a breaking one (a field removed,
renamed, retyped, made required; an enum narrowed) needs a new version: see docs/contracts.md.

This module is application code: it imports pydantic and the producer, never ``aws_cdk``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from event_fanout.events.draft4 import draft4_schema
from event_fanout.runtime.constants import EVENT_VERSION_FIELD
from event_fanout.runtime.pydantic_errors import describe_validation_error

if TYPE_CHECKING:
    from event_fanout.producer import EventEntry
    from event_fanout.runtime.events import EventBridgeEvent

__all__ = ["EVENT_VERSION_FIELD", "EventType", "InvalidEventDetailError"]

DetailModelT = TypeVar("DetailModelT", bound=BaseModel)

#: What the schema registry allows in a schema name (``<source>@<detail-type>``).
_SCHEMA_NAME = re.compile(r"^[a-zA-Z0-9\-_.@]{1,385}$")
_DRAFT4 = "http://json-schema.org/draft-04/schema#"


class InvalidEventDetailError(ValueError):
    """A producer's detail does not fit its event type's model: it is not published."""


@dataclass(frozen=True)
class EventType(Generic[DetailModelT]):
    """One version of one kind of event: its name, its version and the model of its detail.

    Parameters
    ----------
    source
        The event's ``source`` (``"ads.campaigns"``).
    detail_type
        The event's ``detail-type`` (``"CampaignBudgetChanged"``).
    version
        The contract's version, from 1: raise it for a breaking change.
    detail
        The pydantic model of ``detail``.
    description
        What the event means, for the schema registry and the contracts file.

    Examples
    --------
    >>> from pydantic import BaseModel
    >>> class BudgetChangedDetail(BaseModel):
    ...     campaignId: int
    ...     newBudget: float
    >>> BudgetChanged = EventType(source="ads.campaigns", detail_type="CampaignBudgetChanged",
    ...                           version=2, detail=BudgetChangedDetail)
    >>> BudgetChanged.name
    'ads.campaigns@CampaignBudgetChanged'
    >>> BudgetChanged.entry({"campaignId": 7, "newBudget": 1500}).detail
    '{"campaignId":7,"newBudget":1500.0,"eventVersion":2}'

    """

    source: str
    detail_type: str
    version: int
    detail: type[DetailModelT]
    description: str = ""

    def __post_init__(self) -> None:
        if not self.source or not self.detail_type:
            raise ValueError(
                f"an event type needs a source and a detail_type, got {self.source!r} and "
                f"{self.detail_type!r}"
            )
        if not _SCHEMA_NAME.match(self.name):
            raise ValueError(
                f"event type {self.name!r}: source and detail_type may hold letters, digits and "
                "- _ . only (the schema registry's names)"
            )
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ValueError(
                f"event type {self.name}: version must be an int from 1, got {self.version!r}"
            )
        if not (isinstance(self.detail, type) and issubclass(self.detail, BaseModel)):
            raise TypeError(
                f"event type {self.name}: detail must be a pydantic model class, got "
                f"{self.detail!r}"
            )
        if EVENT_VERSION_FIELD in self.detail.model_fields:
            raise ValueError(
                f"event type {self.name}: the detail model declares {EVENT_VERSION_FIELD!r}, "
                "which the event type stamps itself; remove the field from the model"
            )

    @property
    def name(self) -> str:
        """``<source>@<detail-type>``: the schema registry's name for it (as AWS names them)."""
        return f"{self.source}@{self.detail_type}"

    def entry(
        self,
        detail: DetailModelT | Mapping[str, Any],
        *,
        event_bus_name: str | None = None,
        resources: Sequence[str] = (),
        time: datetime | None = None,
    ) -> EventEntry:
        """The event to publish (``EventPublisher.publish``), validated and version-stamped.

        Raises :class:`InvalidEventDetailError` when ``detail`` does not fit the model: an event
        a consumer would dead-letter is refused before it is published.
        """
        try:
            model = (
                detail if isinstance(detail, self.detail) else self.detail.model_validate(detail)
            )
        except ValidationError as error:
            raise InvalidEventDetailError(
                f"{self.name} v{self.version}: the detail does not fit "
                f"{self.detail.__name__}: {describe_validation_error(error)}"
            ) from error
        from event_fanout.producer import EventEntry  # botocore: only where events are published

        body = model.model_dump(mode="json", by_alias=True)
        body[EVENT_VERSION_FIELD] = self.version
        return EventEntry(
            self.source,
            self.detail_type,
            json.dumps(body, separators=(",", ":")),
            event_bus_name=event_bus_name,
            resources=resources,
            time=time,
        )

    def event_pattern(self) -> dict[str, list[str]]:
        """The EventBridge pattern that matches this event type (every version of it)."""
        return {"source": [self.source], "detail-type": [self.detail_type]}

    def event_model(self) -> type[EventBridgeEvent[DetailModelT]]:
        """``EventBridgeEvent[<detail model>]``: what a consumer of this type parses with."""
        from event_fanout.runtime.events import EventBridgeEvent

        return EventBridgeEvent[self.detail]  # type: ignore[name-defined]

    def detail_schema(self) -> dict[str, Any]:
        """The detail's JSON Schema (Draft 4), without the stamped version: the contract."""
        return draft4_schema(self.detail)

    def registry_schema(self) -> dict[str, Any]:
        """The whole event's JSON Schema (Draft 4), as the schema registry documents it.

        The envelope EventBridge adds (``id``, ``time``, ``account``...), ``source`` and
        ``detail-type`` fixed to this type's, and the detail with its ``eventVersion``.
        """
        detail = self.detail_schema()
        definitions = detail.pop("definitions", {})
        detail.pop("$schema", None)
        detail.setdefault("properties", {})[EVENT_VERSION_FIELD] = {
            "type": "integer",
            "enum": [self.version],
        }
        detail["required"] = [*detail.get("required", []), EVENT_VERSION_FIELD]
        name = self.detail.__name__
        string = {"type": "string"}
        return {
            "$schema": _DRAFT4,
            "title": self.detail_type,
            "description": self.description or f"{self.name}, version {self.version}",
            "type": "object",
            "required": ["detail-type", "source", "detail", "id", "time", "account", "region"],
            "properties": {
                "version": string,
                "id": string,
                "detail-type": {"type": "string", "enum": [self.detail_type]},
                "source": {"type": "string", "enum": [self.source]},
                "account": string,
                "time": {"type": "string", "format": "date-time"},
                "region": string,
                "resources": {"type": "array", "items": string},
                "detail": {"$ref": f"#/definitions/{name}"},
            },
            "definitions": {**definitions, name: detail},
            "x-event-fanout-version": self.version,
        }
