"""``event-fanout contracts``: the app's synthesized templates, its baseline and its samples.

What :func:`event_fanout.events.contracts.check_contracts` needs, read from disk, plus the
sample events a producer team commits (one JSON file per event, or a list): each sample is
routed to the consumers whose rules match it (offline, :mod:`~event_fanout.operations.route`)
and its detail validated against the schema of each one's model (JSON Schema Draft 4 with the
``jsonschema`` library), after checking the consumer accepts its version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from event_fanout.events.contracts import ContractFinding, app_contracts, check_contracts
from event_fanout.manifest_format import MANIFEST_KEY
from event_fanout.operations.route import patterns_from_templates, route, to_envelope
from event_fanout.runtime.constants import EVENT_VERSION_FIELD

__all__ = ["assembly_templates", "contract_findings", "load_samples", "sample_findings"]

#: Problems shown per sample and consumer; the rest are counted.
_MAX_PROBLEMS = 5


def assembly_templates(assembly_dir: Path) -> dict[str, dict[str, Any]]:
    """Every template of a cloud assembly (stages' nested assemblies and nested stacks too)."""
    return {
        str(path.relative_to(assembly_dir)): json.loads(path.read_text())
        for path in sorted(assembly_dir.rglob("*.template.json"))
    }


def load_samples(directory: Path) -> dict[str, Any]:
    """``name -> event`` for each ``*.json`` under ``directory`` (a list gives ``name[i]``)."""
    samples: dict[str, Any] = {}
    for path in sorted(directory.rglob("*.json")):
        content = json.loads(path.read_text())
        name = str(path.relative_to(directory))
        if isinstance(content, list):
            samples.update({f"{name}[{index}]": event for index, event in enumerate(content)})
        else:
            samples[name] = content
    return samples


def contract_findings(
    templates: Mapping[str, Mapping[str, Any]],
    baseline: Mapping[str, Any] | None,
    samples: Mapping[str, Any] | None = None,
) -> list[ContractFinding]:
    """The whole check: the app against its baseline, then the samples against the consumers."""
    findings = check_contracts(app_contracts(templates), baseline)
    if samples:
        findings += sample_findings(templates, samples)
    return findings


def sample_findings(
    templates: Mapping[str, Mapping[str, Any]], samples: Mapping[str, Any]
) -> list[ContractFinding]:
    """Each sample against every consumer with an event type whose rule matches it."""
    from jsonschema import Draft4Validator

    consumers = _typed_consumers_by_rule(templates)
    patterns = {
        rule: pattern
        for rule, pattern in patterns_from_templates(templates).items()
        if rule in consumers
    }
    findings: list[ContractFinding] = []
    for name, sample in samples.items():
        event = to_envelope(sample)
        type_name = f"{event['source']}@{event['detail-type']}"
        detail = event.get("detail")
        detail = dict(detail) if isinstance(detail, Mapping) else detail
        version = detail.pop(EVENT_VERSION_FIELD, 1) if isinstance(detail, dict) else 1
        matched = [r.consumer for r in route(event, patterns) if r.matched]
        if not matched:
            findings.append(
                ContractFinding(
                    "note", type_name, version, f"sample {name} reaches no consumer with a type"
                )
            )
        for rule in matched:
            consumer = consumers[rule]
            declared = consumer["eventType"]
            who = f"sample {name} -> consumer {consumer.get('path') or consumer.get('name')}"
            if version not in declared["accepts"]:
                findings.append(
                    ContractFinding(
                        "error",
                        type_name,
                        version,
                        f"{who}: the consumer accepts versions "
                        f"{', '.join(map(str, declared['accepts']))} only",
                    )
                )
                continue
            problems = sorted(
                Draft4Validator(declared["schema"]).iter_errors(detail),
                key=lambda error: list(error.absolute_path),
            )
            if problems:
                shown = [_problem(error) for error in problems[:_MAX_PROBLEMS]]
                more = len(problems) - len(shown)
                findings.append(
                    ContractFinding(
                        "error",
                        type_name,
                        version,
                        f"{who}: the detail does not fit the consumer's model: "
                        + "; ".join(shown)
                        + (f"; and {more} more" if more > 0 else ""),
                    )
                )
    return findings


def _typed_consumers_by_rule(
    templates: Mapping[str, Mapping[str, Any]],
) -> dict[str, Mapping[str, Any]]:
    """Rule logical id -> the manifest entry of the consumer it feeds, if it has an event type."""
    found: dict[str, Mapping[str, Any]] = {}
    for entry in _entries(templates.values()):
        rule = entry.get("rule")
        if (
            entry.get("kind") == "consumer"
            and isinstance(entry.get("eventType"), Mapping)
            and isinstance(rule, Mapping)
            and "logicalId" in rule
        ):
            found[str(rule["logicalId"])] = entry
    return found


def _entries(templates: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for template in templates:
        for resource in (template.get("Resources") or {}).values():
            entry = (resource.get("Metadata") or {}).get(MANIFEST_KEY)
            if isinstance(entry, Mapping):
                yield entry


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error.absolute_path) or "detail"
    return f"{where}: {error.message}"
