"""One self-contained HTML page after ``event-fanout local run --report run.html``.

The page holds the topology (drawn as SVG, the Mermaid source beside it), the run's table, and
per consumer one chart over the run's time: its queue's depth (visible, in flight), the age of
its oldest message, and the records it processed, skipped as duplicates and failed. Everything
is inline (no script, no font, no network), so it opens from disk or as a CI artifact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from event_fanout.local.project import Project
from event_fanout.local.report import ConsumerFigures, consumer_name
from event_fanout.local.runner import DeployedMapping
from event_fanout.local.session import AwsSession
from event_fanout.local.timeline import RunTimeline, Sample
from event_fanout.operations.diagram import Topology, mermaid, topology
from event_fanout.operations.diagram_svg import topology_svg
from event_fanout.operations.discovery import deployed_templates

__all__ = ["ConsumerRun", "RunReport", "report_of_run"]


@dataclass(frozen=True)
class ConsumerRun:
    """What one consumer did during the run."""

    name: str
    queue: str
    handler: str
    samples: Sequence[Sample]
    figures: ConsumerFigures | None = None


@dataclass(frozen=True)
class _Series:
    name: str
    colour: str
    values: Sequence[float]


_WIDTH, _PANEL_HEIGHT, _PANEL_GAP = 880, 120, 44
_LEFT, _RIGHT, _TOP = 64, 16, 28
_PAGE_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;color:#0f172a;margin:24px auto;max-width:940px;
padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#475569;margin:0}
table{border-collapse:collapse;margin:8px 0}
th,td{padding:3px 10px;border-bottom:1px solid #e2e8f0;text-align:right}
th:first-child,td:first-child{text-align:left}
figure{margin:16px 0;border:1px solid #e2e8f0;border-radius:8px;padding:8px}
figcaption{font-weight:600;margin:0 0 4px}figcaption span{font-weight:400;color:#475569}
svg text{font:11px system-ui,sans-serif;fill:#334155}
svg .title{font-weight:600;fill:#0f172a}
svg .axis{stroke:#94a3b8}svg .grid{stroke:#e2e8f0}
svg polyline.series{fill:none;stroke-width:2}
pre{background:#f8fafc;padding:8px;overflow:auto;font-size:12px}
.topology{max-width:100%;height:auto}
"""


@dataclass(frozen=True)
class RunReport:
    """The page's content: the app, when the run started, what deployed, what each consumer did."""

    app: str
    started: datetime
    topology: Topology
    mermaid_source: str
    consumers: Sequence[ConsumerRun]

    def write(self, path: Path) -> Path:
        """Write :meth:`html` to ``path``; return it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def html(self) -> str:
        """The page: heading, topology, the run's table, then one chart per consumer."""
        consumers = self.consumers
        duration = max((c.samples[-1].at for c in consumers if c.samples), default=0.0)
        charts = "\n".join(_consumer_chart(consumer) for consumer in consumers)
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>event-fanout local run: {escape(self.app)}</title>
<style>{_PAGE_STYLE}</style>
</head>
<body>
<header>
<h1>Local run of {escape(self.app)}</h1>
<p class="meta">Started {self.started:%Y-%m-%d %H:%M:%S %Z}, {duration:.1f} s,
{len(consumers)} consumer(s). Written by <code>event-fanout local run --report</code>.</p>
</header>
<section id="topology">
<h2>Topology</h2>
{topology_svg(self.topology)}
<details><summary>Mermaid source (<code>event-fanout diagram</code>)</summary>
<pre>{escape(self.mermaid_source)}</pre></details>
</section>
<section id="outcome">
<h2>What each consumer did</h2>
{_table(consumers)}
</section>
<section id="consumers">
<h2>Over the run</h2>
{charts}
</section>
</body>
</html>
"""


def report_of_run(
    project: Project,
    session: AwsSession,
    timeline: RunTimeline,
    mappings: Sequence[DeployedMapping],
    figures: Sequence[ConsumerFigures],
) -> RunReport:
    """The report of a ``local run`` of ``project``: its deployed templates and the timeline.

    The picture is drawn from the templates the emulator holds (nested stacks' included), so it
    shows what ran, not what the code says now.
    """
    stack_names = [stack.stack_name for stack in project.deployed_stacks()]
    templates = deployed_templates(session, stack_names)
    by_consumer = {row.consumer: row for row in figures}
    return RunReport(
        app=project.root.name,
        started=datetime.fromtimestamp(timeline.started, UTC),
        topology=topology(templates),
        mermaid_source=mermaid(templates),
        consumers=[
            ConsumerRun(
                name=consumer_name(mapping),
                queue=mapping.queue_name,
                handler=mapping.function.handler,
                samples=timeline.series.get(mapping.uuid, []),
                figures=by_consumer.get(consumer_name(mapping)),
            )
            for mapping in mappings
        ],
    )


def _table(consumers: Sequence[ConsumerRun]) -> str:
    header = (
        "<tr><th>consumer</th><th>deliveries</th><th>processed</th><th>duplicates skipped</th>"
        "<th>failed attempts</th><th>in DLQ</th><th>DLQ alarm</th></tr>"
    )
    rows = []
    for consumer in consumers:
        figures = consumer.figures
        if figures is None:
            cells = [escape(consumer.name)] + ["-"] * 6
        else:
            cells = [
                escape(figures.consumer),
                str(figures.deliveries),
                str(figures.processed),
                str(figures.duplicates_skipped),
                str(figures.failed_attempts),
                str(figures.in_dlq),
                escape(figures.dlq_alarm),
            ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return f"<table>{header}{''.join(rows)}</table>"


def _consumer_chart(consumer: ConsumerRun) -> str:
    samples = consumer.samples
    times = [s.at for s in samples]
    panels = [
        (
            "messages in the queue",
            [
                _Series("visible", "#b45309", [s.visible for s in samples]),
                _Series("in flight", "#7e22ce", [s.in_flight for s in samples]),
            ],
        ),
        (
            "age of the oldest message (s)",
            [_Series("oldest message", "#b91c1c", [s.oldest_age for s in samples])],
        ),
        (
            "records since the start",
            [
                _Series("processed", "#15803d", [s.processed for s in samples]),
                _Series("duplicates skipped", "#1d4ed8", [s.duplicates for s in samples]),
                _Series("failed", "#b91c1c", [s.failed for s in samples]),
            ],
        ),
    ]
    height = _TOP + len(panels) * (_PANEL_HEIGHT + _PANEL_GAP)
    body = "".join(
        _panel(title, series, times, _TOP + index * (_PANEL_HEIGHT + _PANEL_GAP))
        for index, (title, series) in enumerate(panels)
    )
    return (
        f'<figure class="consumer-chart" data-consumer="{escape(consumer.name)}">'
        f"<figcaption>{escape(consumer.name)} <span>{escape(consumer.queue)} → "
        f"{escape(consumer.handler)}, {len(samples)} samples</span></figcaption>"
        f'<svg viewBox="0 0 {_WIDTH} {height}" width="100%" role="img" '
        f'aria-label="{escape(consumer.name)} over the run">{body}</svg></figure>'
    )


def _panel(title: str, series: Sequence[_Series], times: Sequence[float], top: float) -> str:
    """One chart panel: axes with 0 / half / top ticks, a line per series, its legend."""
    plot_width = _WIDTH - _LEFT - _RIGHT
    end = max(times[-1] if times else 0.0, 1e-9)
    highest = max([1.0, *(v for s in series for v in s.values)])
    bottom = top + _PANEL_HEIGHT
    parts = [f'<text class="title" x="{_LEFT}" y="{top - 10:.0f}">{escape(title)}</text>']
    for fraction in (0.0, 0.5, 1.0):
        y = bottom - fraction * _PANEL_HEIGHT
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_number(highest * fraction)}</text>"
        )
        x = _LEFT + fraction * plot_width
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 14:.1f}" text-anchor="middle">'
            f"{end * fraction:.1f} s</text>"
        )
    parts.append(
        f'<line class="axis" x1="{_LEFT}" x2="{_LEFT}" y1="{top:.1f}" y2="{bottom:.1f}"/>'
        f'<line class="axis" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{bottom:.1f}" '
        f'y2="{bottom:.1f}"/>'
    )
    legend_x = _WIDTH - _RIGHT
    for item in reversed(series):
        points = " ".join(
            f"{_LEFT + t / end * plot_width:.1f},{bottom - v / highest * _PANEL_HEIGHT:.1f}"
            for t, v in zip(times, item.values, strict=True)
        )
        parts.append(
            f'<polyline class="series" data-series="{escape(item.name)}" '
            f'stroke="{item.colour}" points="{points}"/>'
        )
        label = f"{item.name}: {_number(item.values[-1]) if item.values else '-'} at the end"
        legend_x -= 7 * len(label) + 24
        parts.append(
            f'<rect x="{legend_x:.0f}" y="{top - 19:.0f}" width="10" height="10" '
            f'fill="{item.colour}"/><text x="{legend_x + 14:.0f}" y="{top - 10:.0f}">'
            f"{escape(label)}</text>"
        )
    return "".join(parts)


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"
