"""The contract check: the app's event types against the baseline committed next to them.

The app's contracts are read from its synthesized templates, where each consumer's manifest
entry names the event type it consumes (its model's schema and the versions it accepts) and the
fan-out's names its producers (``add_producer``) with the types each publishes. The baseline is
a JSON file the team commits (``event-fanout contracts lock`` writes it): every event type
version with its detail's schema.

:func:`check_contracts` reports, per event type version:

- a change against the baseline, compatible (an optional field added) or breaking (a field
  removed, renamed, retyped, made required or optional; an enum narrowed); a breaking change of a
  locked version is an error: it needs a new version;
- a consumer accepting a version no producer of the app publishes (nor an external one);
- a consumer whose model cannot read a version it accepts (its model is of a newer version, and
  the change from the accepted one is breaking).

Pure functions over parsed JSON: no AWS call, no aws_cdk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from event_fanout.events.compatibility import SchemaChange, schema_changes
from event_fanout.manifest_format import MANIFEST_KEY

__all__ = [
    "DEFAULT_LOCK_FILE",
    "LOCK_FORMAT",
    "AppContracts",
    "ConsumedType",
    "ContractFinding",
    "PublishedType",
    "app_contracts",
    "check_contracts",
    "errors",
    "lock_document",
]

#: The baseline's file name, next to the app's ``cdk.json`` unless told otherwise.
DEFAULT_LOCK_FILE = "event-contracts.json"
#: The baseline's format version (its ``format`` field).
LOCK_FORMAT = 1

Level = Literal["error", "change", "note"]


@dataclass(frozen=True)
class PublishedType:
    """One event type version a producer publishes."""

    name: str
    version: int
    schema: Mapping[str, Any]
    producer: str
    external: bool


@dataclass(frozen=True)
class ConsumedType:
    """The event type a consumer reads: its model's version and schema, the versions accepted."""

    name: str
    version: int
    schema: Mapping[str, Any]
    accepts: tuple[int, ...]
    consumer: str


@dataclass
class AppContracts:
    """What the app's templates declare about its events."""

    published: list[PublishedType] = field(default_factory=list)
    consumed: list[ConsumedType] = field(default_factory=list)
    #: name -> (source, detail-type), for the baseline's readers.
    names: dict[str, tuple[str, str]] = field(default_factory=dict)

    def versions(self) -> dict[tuple[str, int], Mapping[str, Any]]:
        """Every (name, version) the app declares -> its detail schema (producers' first)."""
        found: dict[tuple[str, int], Mapping[str, Any]] = {}
        items: list[PublishedType | ConsumedType] = [*self.published, *self.consumed]
        for item in items:
            found.setdefault((item.name, item.version), item.schema)
        return found


@dataclass(frozen=True)
class ContractFinding:
    """One line of the check: an ``error`` fails it; a ``change`` or ``note`` informs."""

    level: Level
    event_type: str
    version: int | None
    message: str
    changes: tuple[SchemaChange, ...] = ()

    def __str__(self) -> str:
        version = f" v{self.version}" if self.version is not None else ""
        return f"{self.level}: {self.event_type}{version}: {self.message}"


def app_contracts(templates: Mapping[str, Mapping[str, Any]]) -> AppContracts:
    """The event types the templates' manifest entries declare (nested stacks' included)."""
    contracts = AppContracts()
    for template in templates.values():
        for resource in (template.get("Resources") or {}).values():
            entry = (resource.get("Metadata") or {}).get(MANIFEST_KEY)
            if not isinstance(entry, Mapping):
                continue
            if entry.get("kind") == "consumer" and isinstance(entry.get("eventType"), Mapping):
                declared = entry["eventType"]
                contracts.names[declared["name"]] = (declared["source"], declared["detailType"])
                contracts.consumed.append(
                    ConsumedType(
                        name=declared["name"],
                        version=int(declared["version"]),
                        schema=declared["schema"],
                        accepts=tuple(int(v) for v in declared["accepts"]),
                        consumer=str(entry.get("path") or entry.get("name")),
                    )
                )
            if entry.get("kind") == "fanout":
                for producer in entry.get("producers") or []:
                    for declared in producer["eventTypes"]:
                        contracts.names[declared["name"]] = (
                            declared["source"],
                            declared["detailType"],
                        )
                        contracts.published.append(
                            PublishedType(
                                name=declared["name"],
                                version=int(declared["version"]),
                                schema=declared["schema"],
                                producer=f"{entry.get('path')}/{producer['id']}",
                                external=bool(producer.get("external")),
                            )
                        )
    return contracts


def lock_document(contracts: AppContracts) -> dict[str, Any]:
    """The baseline to commit: every event type version the app declares, with its schema."""
    event_types: dict[str, Any] = {}
    for (name, version), schema in sorted(contracts.versions().items()):
        source, detail_type = contracts.names[name]
        entry = event_types.setdefault(
            name, {"source": source, "detailType": detail_type, "versions": {}}
        )
        entry["versions"][str(version)] = schema
    return {"format": LOCK_FORMAT, "eventTypes": event_types}


def check_contracts(
    contracts: AppContracts, baseline: Mapping[str, Any] | None
) -> list[ContractFinding]:
    """Every finding of the app against ``baseline`` (None: no baseline committed yet)."""
    findings: list[ContractFinding] = []
    findings += _same_version_same_schema(contracts)
    findings += _against_baseline(contracts, baseline)
    findings += _published_and_consumed(contracts)
    findings += _consumers_read_what_they_accept(contracts)
    return findings


def _same_version_same_schema(contracts: AppContracts) -> list[ContractFinding]:
    """Two declarations of one version (a producer's and a consumer's) must agree."""
    findings = []
    first: dict[tuple[str, int], tuple[str, Mapping[str, Any]]] = {}
    declared: list[tuple[str, int, str, Mapping[str, Any]]] = [
        *((p.name, p.version, f"producer {p.producer}", p.schema) for p in contracts.published),
        *((c.name, c.version, f"consumer {c.consumer}", c.schema) for c in contracts.consumed),
    ]
    for name, version, who, schema in declared:
        known = first.setdefault((name, version), (who, schema))
        if known[1] != schema:
            changes = tuple(schema_changes(known[1], schema))
            findings.append(
                ContractFinding(
                    "error",
                    name,
                    version,
                    f"{who} declares another schema than {known[0]} for the same version ("
                    + "; ".join(c.message for c in changes or ())
                    + "): share one EventType between them",
                    changes,
                )
            )
    return findings


def _against_baseline(
    contracts: AppContracts, baseline: Mapping[str, Any] | None
) -> list[ContractFinding]:
    if baseline is None:
        return [
            ContractFinding(
                "error",
                "*",
                None,
                "no baseline: run `event-fanout contracts lock` and commit the file it writes",
            )
        ]
    locked = _locked_versions(baseline)
    findings = []
    current = contracts.versions()
    for (name, version), schema in sorted(current.items()):
        if (name, version) not in locked:
            older = sorted(v for n, v in locked if n == name)
            message = (
                f"new version (locked: {', '.join(map(str, older))})" if older else "new event type"
            )
            findings.append(ContractFinding("change", name, version, message))
            continue
        changes = tuple(schema_changes(locked[name, version], schema))
        breaking = [c for c in changes if c.breaking]
        if breaking:
            newest = max(v for n, v in [*locked, *current] if n == name)
            findings.append(
                ContractFinding(
                    "error",
                    name,
                    version,
                    "breaking change without a new version: "
                    + "; ".join(c.message for c in breaking)
                    + f". Declare it as version {newest + 1} (a new EventType) and keep "
                    f"version {version} as it was while consumers read it",
                    changes,
                )
            )
        elif changes:
            findings.append(
                ContractFinding(
                    "change",
                    name,
                    version,
                    "compatible change: "
                    + "; ".join(c.message for c in changes)
                    + " (`event-fanout contracts lock` records it)",
                    changes,
                )
            )
    for name, version in sorted(set(locked) - set(current)):
        findings.append(
            ContractFinding("note", name, version, "locked but no longer declared by the app")
        )
    return findings


def _published_and_consumed(contracts: AppContracts) -> list[ContractFinding]:
    published = {(p.name, p.version) for p in contracts.published}
    findings = []
    for consumed in contracts.consumed:
        for version in consumed.accepts:
            if (consumed.name, version) not in published:
                findings.append(
                    ContractFinding(
                        "error",
                        consumed.name,
                        version,
                        f"consumer {consumed.consumer} accepts it, but no producer of the app "
                        "publishes it: declare who does with fanout.add_producer(id, "
                        "event_types=[...], grantee=...) (grantee=None for one outside the app), "
                        "or drop the version from event_versions",
                    )
                )
    accepted = {(c.name, v) for c in contracts.consumed for v in c.accepts}
    for name, version in sorted(published - accepted):
        findings.append(
            ContractFinding("note", name, version, "published, and accepted by no consumer here")
        )
    return findings


def _consumers_read_what_they_accept(contracts: AppContracts) -> list[ContractFinding]:
    """A consumer's model (version M) must read every older version it accepts."""
    schemas = contracts.versions()
    findings = []
    for consumed in contracts.consumed:
        for version in consumed.accepts:
            if version == consumed.version or (consumed.name, version) not in schemas:
                continue
            changes = tuple(schema_changes(schemas[consumed.name, version], consumed.schema))
            breaking = [c for c in changes if c.breaking]
            if breaking:
                findings.append(
                    ContractFinding(
                        "error",
                        consumed.name,
                        version,
                        f"consumer {consumed.consumer} accepts it, but its model (version "
                        f"{consumed.version}) cannot read it: "
                        + "; ".join(c.message for c in breaking),
                        changes,
                    )
                )
    return findings


def _locked_versions(baseline: Mapping[str, Any]) -> dict[tuple[str, int], Mapping[str, Any]]:
    if baseline.get("format") != LOCK_FORMAT:
        raise ValueError(
            f"the contracts baseline has format {baseline.get('format')!r}, this version reads "
            f"{LOCK_FORMAT}: write it again with `event-fanout contracts lock`"
        )
    return {
        (name, int(version)): schema
        for name, entry in (baseline.get("eventTypes") or {}).items()
        for version, schema in (entry.get("versions") or {}).items()
    }


def errors(findings: Iterable[ContractFinding]) -> list[ContractFinding]:
    """The findings that fail the check."""
    return [finding for finding in findings if finding.level == "error"]
