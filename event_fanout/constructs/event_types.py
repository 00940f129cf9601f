"""The construct side of event types: a consumer's pattern and versions, and the schema registry.

A consumer given ``event_type=`` gets its rule's pattern from it (the type's source and
detail-type, narrowed by an ``event_pattern`` given too), and the versions it accepts are
checked here, at synth: an empty list, a version above the model's own (the model is the
newest the consumer knows) or versions without a type are configuration errors.

Every event type a fan-out's consumers and producers use is published to an EventBridge
schema registry of the fan-out (``AWS::EventSchemas::Registry``, one ``::Schema`` per
``<source>@<detail-type>``, JSON Schema Draft 4 generated from the model), so other teams find
the events and generate code bindings. Custom registries and their schemas cost nothing (only
schema *discovery*, which this does not turn on, is charged), so it is on wherever event types
are declared, and ``schema_registry=False`` leaves it out.

``event_fanout.events`` needs pydantic (the ``runtime`` extra): it is imported only when an
event type is used, so a fan-out without event types synthesizes without it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import IStableAnyProducer
from aws_cdk import aws_events as events
from aws_cdk import aws_eventschemas as eventschemas
from constructs import Construct

from event_fanout.errors import ConfigProblem, EventFanoutConfigError

if TYPE_CHECKING:
    from event_fanout.events.event_type import EventType

__all__ = [
    "Producer",
    "Producers",
    "SchemaRegistry",
    "contract_entry",
    "event_type_problems",
    "typed_pattern",
]


def contract_entry(event_type: EventType[Any]) -> dict[str, Any]:
    """How the manifest names one event type version: name, version, detail schema."""
    return {
        "name": event_type.name,
        "source": event_type.source,
        "detailType": event_type.detail_type,
        "version": event_type.version,
        "schema": event_type.detail_schema(),
    }


@dataclass(frozen=True)
class Producer:
    """A producer of the fan-out's events: in this app (granted ``PutEvents``) or external."""

    producer_id: str
    event_types: tuple[EventType[Any], ...]
    external: bool


@jsii.implements(IStableAnyProducer)
class Producers:
    """The fan-out manifest's ``producers``, rendered at synth (they are added after it)."""

    def __init__(self, producers: Mapping[str, Producer]) -> None:
        self._producers = producers

    def produce(self) -> Any:
        """One entry per producer, in the order they were added."""
        return [
            {
                "id": producer.producer_id,
                "external": producer.external,
                "eventTypes": [contract_entry(t) for t in producer.event_types],
            }
            for producer in self._producers.values()
        ]


def event_type_problems(
    path: str, event_type: Any, event_versions: Sequence[int] | None
) -> list[ConfigProblem]:
    """What is wrong with a consumer's ``event_type`` and ``event_versions`` (empty: nothing)."""
    if event_type is None:
        return [
            ConfigProblem(
                path,
                "event_versions",
                event_versions,
                "needs event_type (the versions are of an event type)",
                "pass event_type=<an EventType>, or drop event_versions",
            )
        ]
    from event_fanout.events.event_type import EventType

    if not isinstance(event_type, EventType):
        return [
            ConfigProblem(
                path,
                "event_type",
                event_type,
                "must be an event_fanout.events.EventType",
                "declare it once: EventType(source=..., detail_type=..., version=..., detail=...)",
            )
        ]
    if event_versions is None:
        return []
    versions = list(event_versions)
    bad = [v for v in versions if isinstance(v, bool) or not isinstance(v, int) or v < 1] or [
        v for v in versions if v > event_type.version
    ]
    if not versions or bad or len(set(versions)) != len(versions):
        return [
            ConfigProblem(
                path,
                "event_versions",
                event_versions,
                f"must list distinct versions of {event_type.name} from 1 to its model's "
                f"version {event_type.version} (the newest this consumer's model reads)",
                f"e.g. event_versions=[{event_type.version}]; to accept a newer version, "
                "consume the EventType of that version",
            )
        ]
    return []


def typed_pattern(
    path: str, event_type: EventType[Any], pattern: events.EventPattern | None
) -> events.EventPattern:
    """The consumer's pattern: the type's source and detail-type, narrowed by ``pattern``."""
    if pattern is None:
        return events.EventPattern(source=[event_type.source], detail_type=[event_type.detail_type])
    problems = [
        ConfigProblem(
            path,
            f"event_pattern.{field}",
            value,
            f"must be [{expected!r}] (the event type's) or left out",
            f"drop event_pattern.{field}: event_type={event_type.name} sets it",
        )
        for field, value, expected in (
            ("source", pattern.source, event_type.source),
            ("detail_type", pattern.detail_type, event_type.detail_type),
        )
        if value is not None and list(value) != [expected]
    ]
    if problems:
        raise EventFanoutConfigError(problems)
    return events.EventPattern(
        account=pattern.account,
        detail=pattern.detail,
        id=pattern.id,
        region=pattern.region,
        resources=pattern.resources,
        time=pattern.time,
        version=pattern.version,
        source=[event_type.source],
        detail_type=[event_type.detail_type],
    )


def _schema_id(name: str) -> str:
    """A construct id per type name: its letters and digits, and a hash of the whole name.

    ``shop.pricing@PriceChanged`` and ``shop-pricing@PriceChanged`` are two event types.
    """
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return "Schema" + "".join(ch for ch in name if ch.isalnum()) + digest


class SchemaRegistry(Construct):
    """The fan-out's schema registry: one schema per event type name, its newest version.

    The registry keeps earlier versions itself: each deploy that changes a schema's content
    adds a schema version, so a consumer still reading version 1 finds it there.
    """

    def __init__(self, scope: Construct, construct_id: str, *, registry_name: str) -> None:
        super().__init__(scope, construct_id)
        self.registry = eventschemas.CfnRegistry(
            self,
            "Registry",
            registry_name=registry_name,
            description=f"Event types of the fan-out {scope.node.path}",
        )
        self.registry_name = registry_name
        self._schemas: dict[str, tuple[eventschemas.CfnSchema, EventType[Any]]] = {}

    def add(self, event_type: EventType[Any]) -> None:
        """Document ``event_type``; a newer version of a known type replaces its content."""
        known = self._schemas.get(event_type.name)
        if known is not None and known[1].version >= event_type.version:
            return
        content = json.dumps(event_type.registry_schema(), sort_keys=True)
        description = (
            f"{event_type.description} (version {event_type.version})"
            if event_type.description
            else f"Version {event_type.version}"
        )
        if known is not None:
            schema = known[0]
            schema.content = content
            schema.description = description
        else:
            schema = eventschemas.CfnSchema(
                self,
                _schema_id(event_type.name),
                registry_name=self.registry_name,
                schema_name=event_type.name,
                type="JSONSchemaDraft4",
                content=content,
                description=description,
            )
            schema.node.add_dependency(self.registry)
        self._schemas[event_type.name] = (schema, event_type)
