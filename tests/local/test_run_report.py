"""The ``local run --report`` page, loaded in headless Chromium.

Built here from the reference stack's template and a timeline of known samples, so each
assertion can name the figure it expects; ``tests/local/test_operations.py`` writes the page
from a real run through the command.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from event_fanout.local.run_report import ConsumerRun, RunReport
from event_fanout.local.timeline import RunTimeline
from event_fanout.operations.diagram import mermaid, topology
from tests.browser import opened_page

CONSUMERS = ["AuditLog", "Notification", "Reporting<script>alert(1)</script>"]
SERIES = {"visible", "in flight", "oldest message", "processed", "duplicates skipped", "failed"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(name: str, drain_rate: int) -> ConsumerRun:
    """A consumer that drains 40 messages at ``drain_rate`` a second, failing one in ten."""
    clock = Clock()
    timeline = RunTimeline(clock=clock)
    for step in range(21):
        clock.now = step * 0.5
        visible = max(0, 40 - drain_rate * step // 2)
        if visible:
            timeline.received("m", [{"Attributes": {"SentTimestamp": "0"}}])
        handled = 40 - visible
        timeline.record(
            "m",
            {"ApproximateNumberOfMessages": str(visible)},
            {"Processed": handled, "Duplicate": handled // 8, "Failed": handled // 10},
        )
    return ConsumerRun(name, f"{name}-queue", "handler.main", timeline.series["m"])


def report(template: dict[str, Any]) -> RunReport:
    templates = {"CampaignBudgets": template}
    return RunReport(
        app="reference",
        started=datetime(2026, 12, 2, 9, 30, tzinfo=UTC),
        topology=topology(templates),
        mermaid_source=mermaid(templates),
        consumers=[_run(name, rate) for name, rate in zip(CONSUMERS, (4, 8, 16), strict=True)],
    )


@pytest.fixture
def page_content(reference_synth: tuple[Any, dict[str, Any]]) -> RunReport:
    return report(reference_synth[1])


def test_the_page_shows_one_chart_per_consumer_without_a_console_error(
    page_content: RunReport, tmp_path: Path
) -> None:
    with opened_page(page_content.write(tmp_path / "run.html")) as opened:
        page = opened.page
        page.screenshot(path=str(tmp_path / "run.png"), full_page=True)
        assert opened.console_errors == []
        charts = page.locator("figure.consumer-chart")
        assert charts.count() == len(CONSUMERS)
        # A consumer's name is text: the markup in the third one is shown, not run.
        names = [charts.nth(i).get_attribute("data-consumer") for i in range(charts.count())]
        assert names == CONSUMERS
        assert CONSUMERS[2] in charts.nth(2).locator("figcaption").inner_text()
        for index, consumer in enumerate(page_content.consumers):
            chart = charts.nth(index).locator(".js-plotly-plot")
            # Plotly drew it (its SVG is there) from the run's samples, a line per series.
            assert chart.locator("svg.main-svg").count() >= 1
            assert chart.locator(".scatterlayer .trace").count() == len(SERIES)
            traces = chart.evaluate("div => div.data.map(t => [t.name, t.x, t.y])")
            assert {name for name, _, _ in traces} == SERIES
            for name, x, y in traces:
                assert len(x) == len(y) == len(consumer.samples) == 21, name
            last = {name: y[-1] for name, _, y in traces}
            # Every consumer handled the 40 messages: nothing left, one in ten failed.
            assert (last["processed"], last["failed"], last["visible"]) == (40, 4, 0)


def test_the_topology_has_every_box_apart_and_every_arrow(
    page_content: RunReport, tmp_path: Path
) -> None:
    with opened_page(page_content.write(tmp_path / "run.html")) as opened:
        page = opened.page
        nodes = page.locator("svg.topology g.node")
        assert nodes.count() == len(page_content.topology.nodes)
        assert page.locator("svg.topology g.node.rule").count() == 3
        assert page.locator("svg.topology polyline.edge").count() == len(
            page_content.topology.edges
        )
        boxes = [nodes.nth(i).locator("rect").bounding_box() for i in range(nodes.count())]
        for first, second in itertools.combinations(boxes, 2):
            apart = (
                first["x"] + first["width"] <= second["x"]
                or second["x"] + second["width"] <= first["x"]
                or first["y"] + first["height"] <= second["y"]
                or second["y"] + second["height"] <= first["y"]
            )
            assert apart, (first, second)
        # The whole drawing fits the page's width: nothing is cut off on the right.
        width = page.evaluate("document.documentElement.clientWidth")
        assert all(box["x"] + box["width"] <= width for box in boxes)
        assert "flowchart LR" in page.locator("details pre").text_content()
