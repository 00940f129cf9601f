"""A fan-out as a Mermaid flowchart: bus, rules with their patterns in short, queues, functions.

Drawn from the templates alone (the manifest entries name each consumer's resources), so the
picture is of what deploys, not of what the code meant: for a README, a design review, or a
pull request that adds a consumer. :func:`topology` reads the boxes and arrows once;
:func:`mermaid` writes them for ``event-fanout diagram`` (the README's picture of the reference
stack is its output, checked by ``tests/stack/test_reference_stack.py``) and
:mod:`~event_fanout.operations.diagram_svg` draws them for ``local run --report``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from event_fanout.manifest_format import MANIFEST_KEY

__all__ = ["Edge", "Node", "Topology", "mermaid", "mermaid_of", "pattern_summary", "topology"]

#: Conditions shown per rule; the rest are counted.
_MAX_CONDITIONS = 3

NodeKind = Literal["bus", "archive", "undeliverable", "rule", "queue", "dlq", "function", "table"]
#: ``flow``: events go this way; ``fallback``: only when something fails; ``link``: a dependency.
EdgeKind = Literal["flow", "fallback", "link"]


@dataclass(frozen=True)
class Node:
    """A box of the picture."""

    id: str
    kind: NodeKind
    #: The label, one entry per line.
    lines: tuple[str, ...]
    #: The fan-out it belongs to (its node prefix, ``f0``...; empty for a consumer whose
    #: fan-out is in none of the templates).
    fanout: str = ""
    #: The consumer it belongs to (None: the fan-out's own bus, archive, undeliverable queue).
    consumer: str | None = None


@dataclass(frozen=True)
class Edge:
    """An arrow of the picture."""

    source: str
    target: str
    kind: EdgeKind
    label: str = ""


@dataclass(frozen=True)
class Topology:
    """What the templates deploy, as boxes and arrows in drawing order.

    One model, several renderings: :func:`mermaid` for a README, the ``local run --report``
    page draws it as SVG.
    """

    elements: tuple[Node | Edge, ...]

    @property
    def nodes(self) -> list[Node]:
        """The boxes, in drawing order."""
        return [element for element in self.elements if isinstance(element, Node)]

    @property
    def edges(self) -> list[Edge]:
        """The arrows, in drawing order."""
        return [element for element in self.elements if isinstance(element, Edge)]


def mermaid(templates: Mapping[str, Mapping[str, Any]]) -> str:
    """The flowchart of every fan-out in ``templates`` (template name -> parsed template)."""
    return mermaid_of(topology(templates))


def mermaid_of(drawn: Topology) -> str:
    """The Mermaid flowchart of a topology already read (see :func:`topology`)."""
    lines = ["flowchart LR"]
    for element in drawn.elements:
        lines.append(
            "  " + (_mermaid_node(element) if isinstance(element, Node) else _mermaid_edge(element))
        )
    return "\n".join(lines) + "\n"


_SHAPES: dict[NodeKind, tuple[str, str]] = {
    "bus": ('(["', '"])'),
    "archive": ('[("', '")]'),
    "undeliverable": ('[/"', '"/]'),
    "rule": ('{{"', '"}}'),
    "queue": ('[["', '"]]'),
    "dlq": ('[["', '"]]'),
    "function": ('("', '")'),
    "table": ('[("', '")]'),
}


def _mermaid_node(node: Node) -> str:
    opening, closing = _SHAPES[node.kind]
    return f"{node.id}{opening}{'<br/>'.join(_label(line) for line in node.lines)}{closing}"


def _mermaid_edge(edge: Edge) -> str:
    if edge.kind == "link":
        return f"{edge.source} --- {edge.target}"
    if edge.kind == "fallback":
        arrow = f"-. {edge.label} .->" if edge.label else "-.->"
        return f"{edge.source} {arrow} {edge.target}"
    return f"{edge.source} --> {edge.target}"


def topology(templates: Mapping[str, Mapping[str, Any]]) -> Topology:
    """The boxes and arrows of every fan-out in ``templates``, from their manifest entries."""
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
    elements: list[Node | Edge] = []
    fanouts = {entry["name"]: (lid, entry) for lid, entry in entries if entry["kind"] == "fanout"}
    consumers = [entry for _, entry in entries if entry["kind"] == "consumer"]
    nodes = {name: f"f{index}" for index, name in enumerate(sorted(fanouts))}
    for name, (_, entry) in sorted(fanouts.items()):
        node = nodes[name]
        bus_label = (f"bus {_bus_name(entry, resources)}",)
        elements.append(Node(f"{node}_bus", "bus", bus_label, node))
        if entry.get("archive"):
            elements.append(Node(f"{node}_archive", "archive", ("archive",), node))
            elements.append(Edge(f"{node}_bus", f"{node}_archive", "fallback"))
        undeliverable = ("undeliverable events",)
        elements.append(Node(f"{node}_undeliverable", "undeliverable", undeliverable, node))
    for entry in sorted(consumers, key=lambda e: (str(e.get("fanout")), str(e["name"]))):
        elements += _consumer_elements(entry, fanouts, nodes, resources)
    return Topology(tuple(elements))


def _consumer_elements(
    entry: Mapping[str, Any],
    fanouts: Mapping[str, tuple[str, Mapping[str, Any]]],
    nodes: Mapping[str, str],
    resources: Mapping[str, Mapping[str, Any]],
) -> list[Node | Edge]:
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
    elements: list[Node | Edge] = [
        Node(rule, "rule", (name, summary), fanout_node, name),
        Node(queue, "queue", (f"queue{fifo}",), fanout_node, name),
        Node(dlq, "dlq", ("DLQ",), fanout_node, name),
        Node(function, "function", (str(handler.get("Handler") or name),), fanout_node, name),
        Edge(queue, function, "flow"),
        Edge(queue, dlq, "fallback", "after max_receive_count"),
        Edge(rule, queue, "flow"),
    ]
    if owner is not None:
        elements.insert(0, Edge(f"{fanout_node}_bus", rule, "flow"))
        elements.append(Edge(rule, f"{fanout_node}_undeliverable", "fallback", "undeliverable"))
    if entry.get("idempotencyTable"):
        table = f"{prefix}_idempotency"
        elements.append(Node(table, "table", ("idempotency",), fanout_node, name))
        elements.append(Edge(function, table, "link"))
    return elements


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
