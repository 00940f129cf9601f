"""A fan-out as a Mermaid flowchart: bus, rules with their patterns in short, queues, functions.

Drawn from the templates alone (the manifest entries name each consumer's resources), so the
picture is of what deploys, not of what the code meant: for a README, a design review, or a
pull request that adds a consumer. ``event-fanout diagram`` prints it; the README's picture of
the reference stack is this function's output, checked by ``tests/test_readme.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from event_fanout.manifest_format import MANIFEST_KEY

__all__ = ["mermaid", "pattern_summary"]

#: Conditions shown per rule; the rest are counted.
_MAX_CONDITIONS = 3


def mermaid(templates: Mapping[str, Mapping[str, Any]]) -> str:
    """The flowchart of every fan-out in ``templates`` (template name -> parsed template)."""
    resources = {
        logical_id: resource
        for template in templates.values()
        for logical_id, resource in (template.get("Resources") or {}).items()
    }
    entries = [
        (logical_id, resource["Metadata"][MANIFEST_KEY])
        for logical_id, resource in resources.items()
        if isinstance((resource.get("Metadata") or {}).get(MANIFEST_KEY), Mapping)
    ]
    lines = ["flowchart LR"]
    fanouts = {entry["name"]: (lid, entry) for lid, entry in entries if entry["kind"] == "fanout"}
    consumers = [entry for _, entry in entries if entry["kind"] == "consumer"]
    nodes = {name: f"f{index}" for index, name in enumerate(sorted(fanouts))}
    for name, (_, entry) in sorted(fanouts.items()):
        node = nodes[name]
        lines.append(f'  {node}_bus(["bus {_label(_bus_name(entry, resources))}"])')
        if entry.get("archive"):
            lines.append(f'  {node}_archive[("archive")]')
            lines.append(f"  {node}_bus -.-> {node}_archive")
        lines.append(f'  {node}_undeliverable[/"undeliverable events"/]')
    for entry in sorted(consumers, key=lambda e: (str(e.get("fanout")), str(e["name"]))):
        lines += _consumer_lines(entry, fanouts, nodes, resources)
    return "\n".join(lines) + "\n"


def _consumer_lines(
    entry: Mapping[str, Any],
    fanouts: Mapping[str, tuple[str, Mapping[str, Any]]],
    nodes: Mapping[str, str],
    resources: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    name = str(entry["name"])
    owner = fanouts.get(str(entry.get("fanout")))
    fanout_node = nodes.get(str(entry.get("fanout")), "")
    prefix = f"{fanout_node}_{_node(name)}" if fanout_node else _node(name)
    rule, queue = f"{prefix}_rule", f"{prefix}_queue"
    dlq, function = f"{prefix}_dlq", f"{prefix}_function"
    pattern = (resources.get(_logical_id(entry.get("rule"))) or {}).get("Properties", {})
    summary = pattern_summary(pattern.get("EventPattern") or {})
    fifo = " (FIFO)" if entry.get("fifo") else ""
    handler = (resources.get(_logical_id(entry.get("function"))) or {}).get("Properties", {})
    lines = [
        f'  {rule}{{{{"{_label(name)}<br/>{_label(summary)}"}}}}',
        f'  {queue}[["queue{fifo}"]]',
        f'  {dlq}[["DLQ"]]',
        f'  {function}("{_label(str(handler.get("Handler") or name))}")',
        f"  {queue} --> {function}",
        f"  {queue} -. after max_receive_count .-> {dlq}",
        f"  {rule} --> {queue}",
    ]
    if owner is not None:
        lines.insert(0, f"  {fanout_node}_bus --> {rule}")
        lines.append(f"  {rule} -. undeliverable .-> {fanout_node}_undeliverable")
    if entry.get("idempotencyTable"):
        table = f"{prefix}_idempotency"
        lines += [f'  {table}[("idempotency")]', f"  {function} --- {table}"]
    return lines


def pattern_summary(pattern: Any) -> str:
    """An event pattern in short: ``source ads.campaigns; detail.newBudget > 1000``.

    Examples
    --------
    >>> pattern_summary({"source": ["ads.campaigns"],
    ...                  "detail": {"newBudget": [{"numeric": [">", 1000]}]}})
    'source ads.campaigns; detail.newBudget > 1000'

    """
    if isinstance(pattern, str):
        pattern = json.loads(pattern)
    conditions = [f"{path} {condition}" for path, condition in _conditions(pattern, "")]
    shown = conditions[:_MAX_CONDITIONS]
    if len(conditions) > _MAX_CONDITIONS:
        shown.append(f"+{len(conditions) - _MAX_CONDITIONS} more")
    return "; ".join(shown) or "every event"


def _conditions(pattern: Any, prefix: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if not isinstance(pattern, Mapping):
        return found
    # source, then detail-type, the rest, detail last: the order a reader filters in.
    rank = {"source": 0, "detail-type": 1, "detail": 3}
    order = sorted(pattern, key=lambda key: (rank.get(key, 2), key))
    for key in order:
        value = pattern[key]
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            found += _conditions(value, path)
        elif isinstance(value, list):
            found.append((path, " or ".join(_matcher(item) for item in value)))
    return found


def _matcher(item: Any) -> str:
    if not isinstance(item, Mapping):
        return json.dumps(item) if not isinstance(item, str) else item
    ((operator, argument),) = item.items() if len(item) == 1 else ((next(iter(item)), item),)
    if operator == "numeric" and isinstance(argument, list):
        return " ".join(str(part) for part in argument)
    if operator == "exists":
        return "exists" if argument else "absent"
    if operator == "anything-but":
        return f"not {json.dumps(argument) if not isinstance(argument, str) else argument}"
    return f"{operator} {json.dumps(argument) if not isinstance(argument, str) else argument}"


def _logical_id(ref: Any) -> str:
    return str(ref["logicalId"]) if isinstance(ref, Mapping) and "logicalId" in ref else ""


def _node(name: str) -> str:
    """A Mermaid node id from a fan-out or consumer name."""
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _bus_name(entry: Mapping[str, Any], resources: Mapping[str, Mapping[str, Any]]) -> str:
    ref = entry.get("bus")
    if isinstance(ref, Mapping) and "name" in ref:
        return str(ref["name"])
    props = (resources.get(_logical_id(ref)) or {}).get("Properties", {})
    name = props.get("Name")
    return name if isinstance(name, str) else str(entry.get("path", ""))


def _label(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
