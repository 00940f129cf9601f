"""A fan-out's topology drawn as SVG, for a page that must work offline.

The same boxes and arrows as the Mermaid flowchart (:func:`~event_fanout.operations.diagram.
topology`), laid out left to right without a layout engine: a fan-out's bus, then one row per
consumer (rule, queue, function; its DLQ under the queue, its idempotency table under the
function), the undeliverable-events queue under the last row. Mermaid needs its JavaScript
library to render; a run report opened from disk, on a laptop in a train, needs none.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from event_fanout.operations.diagram import Edge, Node, NodeKind, Topology

__all__ = ["topology_svg"]

_COLUMN: dict[NodeKind, int] = {
    "bus": 0,
    "archive": 0,
    "rule": 1,
    "queue": 2,
    "dlq": 2,
    "undeliverable": 2,
    "function": 3,
    "table": 3,
}
#: Fill, stroke: one hue per kind of resource, as the AWS icons colour them.
_COLOURS: dict[NodeKind, tuple[str, str]] = {
    "bus": ("#f3e8ff", "#7e22ce"),
    "archive": ("#f1f5f9", "#64748b"),
    "rule": ("#fce7f3", "#be185d"),
    "queue": ("#fef3c7", "#b45309"),
    "dlq": ("#fee2e2", "#b91c1c"),
    "undeliverable": ("#fee2e2", "#b91c1c"),
    "function": ("#ffedd5", "#c2410c"),
    "table": ("#dbeafe", "#1d4ed8"),
}
_BOX_WIDTH, _BOX_HEIGHT, _SMALL_HEIGHT = 200, 40, 28
_COLUMN_WIDTH, _ROW_HEIGHT, _MARGIN = 240, 100, 16
_MAX_CHARS = 32
#: Inside the ``<svg>``: the drawing is the same alone or in a page.
_STYLE = (
    "<style>.topology text{font:12px system-ui,sans-serif;text-anchor:middle;fill:#0f172a}"
    ".topology text.detail{font-size:10px;fill:#334155}"
    ".topology .edge{fill:none;stroke:#475569;stroke-width:1.4}"
    ".topology .edge.fallback{stroke:#b91c1c;stroke-dasharray:5 4}"
    ".topology .edge.link{stroke:#1d4ed8;stroke-dasharray:2 3}</style>"
)


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    height: float

    @property
    def bottom(self) -> float:
        return self.y + self.height


def topology_svg(topology: Topology) -> str:
    """An ``<svg>`` element drawing ``topology`` (empty topology: a one-line note)."""
    boxes = _layout(topology.nodes)
    if not boxes:
        return '<p class="empty">No fan-out in these templates.</p>'
    width = 4 * _COLUMN_WIDTH + _MARGIN
    height = max(box.bottom for box in boxes.values()) + _MARGIN
    parts = [
        f'<svg class="topology" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
        f'{height:.0f}" width="{width}" role="img" aria-label="fan-out topology">',
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' "
        "fill='#475569'/></marker></defs>",
        _STYLE,
    ]
    parts += [
        _edge(edge, boxes) for edge in topology.edges if {edge.source, edge.target} <= boxes.keys()
    ]
    parts += [_node(node, boxes[node.id]) for node in topology.nodes]
    parts.append("</svg>")
    return "\n".join(parts)


def _layout(nodes: list[Node]) -> dict[str, _Box]:
    """Where each box goes: fan-outs one under the other, a row per consumer."""
    boxes: dict[str, _Box] = {}
    top = float(_MARGIN)
    for fanout in dict.fromkeys(node.fanout for node in nodes):
        members = [node for node in nodes if node.fanout == fanout]
        consumers = list(dict.fromkeys(n.consumer for n in members if n.consumer is not None))
        rows = {consumer: top + index * _ROW_HEIGHT for index, consumer in enumerate(consumers)}
        bottom = top + len(consumers) * _ROW_HEIGHT
        middle = top + max(0, len(consumers) - 1) * _ROW_HEIGHT / 2
        for node in members:
            x = _MARGIN + _COLUMN[node.kind] * _COLUMN_WIDTH
            if node.consumer is not None:
                y = rows[node.consumer]
                if node.kind in ("dlq", "table"):
                    boxes[node.id] = _Box(x, y + _BOX_HEIGHT + 16, _SMALL_HEIGHT)
                else:
                    boxes[node.id] = _Box(x, y, _BOX_HEIGHT)
            elif node.kind == "bus":
                boxes[node.id] = _Box(x, middle, _BOX_HEIGHT)
            elif node.kind == "archive":
                boxes[node.id] = _Box(x, middle + _BOX_HEIGHT + 16, _SMALL_HEIGHT)
            else:  # the undeliverable-events queue, under the last consumer
                boxes[node.id] = _Box(x, bottom, _SMALL_HEIGHT)
                bottom += _SMALL_HEIGHT + 16
        top = max([bottom, *(box.bottom for box in boxes.values())]) + 2 * _MARGIN
    return boxes


def _node(node: Node, box: _Box) -> str:
    fill, stroke = _COLOURS[node.kind]
    full = " / ".join(node.lines)
    lines = [_short(line) for line in node.lines]
    step = 14
    first = box.y + box.height / 2 - (len(lines) - 1) * step / 2 + 4
    texts = "".join(
        f'<text x="{box.x + _BOX_WIDTH / 2:.0f}" y="{first + i * step:.0f}" '
        f'class="{"label" if i == 0 else "detail"}">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    return (
        f'<g class="node {node.kind}" data-id="{escape(node.id)}"><title>{escape(full)}</title>'
        f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{_BOX_WIDTH}" height="{box.height:.0f}" '
        f'rx="8" fill="{fill}" stroke="{stroke}"/>{texts}</g>'
    )


def _edge(edge: Edge, boxes: dict[str, _Box]) -> str:
    source, target = boxes[edge.source], boxes[edge.target]
    if source.x == target.x:  # same column: straight down
        x = source.x + _BOX_WIDTH / 2
        points = [(x, source.bottom), (x, target.y)]
    else:  # an elbow through the lane between the two columns
        start = (source.x + _BOX_WIDTH, source.y + source.height / 2)
        end = (target.x, target.y + target.height / 2)
        lane = (start[0] + end[0]) / 2 if target.x - source.x <= _COLUMN_WIDTH else end[0] - 20
        points = [start, (lane, start[1]), (lane, end[1]), end]
    path = " ".join(f"{x:.0f},{y:.0f}" for x, y in points)
    marker = "" if edge.kind == "link" else ' marker-end="url(#arrow)"'
    title = f"<title>{escape(edge.label)}</title>" if edge.label else ""
    return f'<polyline class="edge {edge.kind}" points="{path}"{marker}>{title}</polyline>'


def _short(text: str) -> str:
    return text if len(text) <= _MAX_CHARS else text[: _MAX_CHARS - 1] + "…"
