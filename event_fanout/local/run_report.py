"""One self-contained HTML page after ``event-fanout local run --report run.html``.

The page holds the topology (drawn as SVG, the Mermaid source beside it), the run's table, and
per consumer one chart over the run's time: its queue's depth (visible, in flight), the age of
its oldest message, and the records it processed, skipped as duplicates and failed.

The charts are Plotly's (a maintained plotting library: hover for the values, zoom into a
burst), with plotly.js inlined once, so the page needs no network: it opens from disk or as a
CI artifact. The topology is drawn as SVG here (:mod:`~event_fanout.operations.diagram_svg`):
Mermaid would need its JavaScript library too, and a plotting library draws no flowcharts.
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
from event_fanout.operations.diagram import Topology, mermaid_of, topology
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
        charts = "\n".join(_consumer_chart(c, index) for index, c in enumerate(consumers))
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>event-fanout local run: {escape(self.app)}</title>
<style>{_PAGE_STYLE}</style>
<script>{_plotly_js()}</script>
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


def _plotly_js() -> str:
    """plotly.js, once per page: the charts work offline (about 4.6 MB)."""
    from plotly.offline import get_plotlyjs

    script: str = get_plotlyjs()
    return script.replace("</script", "<\\/script")


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
    drawn = topology(deployed_templates(session, stack_names))
    by_consumer = {row.consumer: row for row in figures}
    return RunReport(
        app=project.root.name,
        started=datetime.fromtimestamp(timeline.started, UTC),
        topology=drawn,
        mermaid_source=mermaid_of(drawn),
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


def _consumer_chart(consumer: ConsumerRun, index: int) -> str:
    """One figure: three panels over the run's time, sharing its axis (hover shows the values)."""
    from plotly import graph_objects as go
    from plotly.subplots import make_subplots

    samples = consumer.samples
    times = [s.at for s in samples]
    figure = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.09,
        subplot_titles=(
            "messages in the queue",
            "age of the oldest message (s)",
            "records since the start",
        ),
    )
    for row, series in enumerate(_panels(samples), start=1):
        for item in series:
            figure.add_trace(
                go.Scatter(
                    x=times,
                    y=list(item.values),
                    name=item.name,
                    mode="lines",
                    line={"color": item.colour, "width": 2},
                    legendgroup=str(row),
                ),
                row=row,
                col=1,
            )
    figure.update_xaxes(title_text="seconds since the run started", row=3, col=1)
    figure.update_yaxes(rangemode="tozero")
    figure.update_layout(
        height=560,
        margin={"l": 56, "r": 16, "t": 36, "b": 48},
        template="plotly_white",
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.14},
    )
    chart = figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"consumer-chart-{index}",
        config={"displaylogo": False, "responsive": True},
    )
    return (
        f'<figure class="consumer-chart" data-consumer="{escape(consumer.name)}">'
        f"<figcaption>{escape(consumer.name)} <span>{escape(consumer.queue)} → "
        f"{escape(consumer.handler)}, {len(samples)} samples</span></figcaption>"
        f"{chart}</figure>"
    )


def _panels(samples: Sequence[Sample]) -> list[list[_Series]]:
    """The series of each panel: depth, oldest message age, the runtime's counts."""
    return [
        [
            _Series("visible", "#b45309", [s.visible for s in samples]),
            _Series("in flight", "#7e22ce", [s.in_flight for s in samples]),
        ],
        [_Series("oldest message", "#b91c1c", [s.oldest_age for s in samples])],
        [
            _Series("processed", "#15803d", [s.processed for s in samples]),
            _Series("duplicates skipped", "#1d4ed8", [s.duplicates for s in samples]),
            _Series("failed", "#dc2626", [s.failed for s in samples]),
        ],
    ]
