"""The whole system on one machine: emulator, real ``cdk deploy``, events, consumers, a table.

:func:`run_demo` is what ``event-fanout demo`` does; the pieces (:func:`deploy_reference_stack`,
:func:`publish_demo_stream`, :func:`drain`) are shared with the CLI's ``local`` commands and the
end-to-end tests.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from event_fanout.local.cdk_cli import CdkApp, bootstrap
from event_fanout.local.deploy import deploy
from event_fanout.local.publisher import (
    Published,
    budget_stream,
    duplicate_deliveries,
    publish,
)
from event_fanout.local.report import ConsumerFigures, consumer_figures
from event_fanout.local.runner import (
    RECEIVE_WAIT_SECONDS,
    DeployedMapping,
    EventSourceRunner,
    discover_mappings,
)
from event_fanout.local.server import LocalAws
from event_fanout.local.session import AwsSession, session_for
from event_fanout.stacks.reference import (
    BUDGET_CHANGED,
    REFERENCE_APP,
    REFERENCE_BUS,
    REFERENCE_STACK,
)

Printer = Callable[[str], None]


@dataclass
class DemoResult:
    """What the demo published and what each consumer did with it."""

    published: Published
    duplicate_copies: dict[str, int]
    rows: list[ConsumerFigures] = field(default_factory=list)


def deploy_reference_stack(
    aws_env: Mapping[str, str],
    *,
    app: CdkApp | None = None,
    fresh: bool = False,
    echo: Printer | None = None,
) -> CdkApp:
    """Bootstrap the emulator and deploy the reference stack with the real CLI.

    ``fresh=True`` deletes a deployed reference stack first (see :func:`.deploy.deploy`).
    """
    app = app or CdkApp(stack_name=REFERENCE_STACK, app=REFERENCE_APP)
    bootstrap(aws_env, app, echo=echo)
    deploy(aws_env, app, fresh=fresh, echo=echo)
    return app


def publish_demo_stream(
    session: AwsSession,
    mappings: list[DeployedMapping],
    *,
    events: int = 40,
    duplicate_rate: float = 0.2,
    poison: int = 1,
    unmatched: int = 1,
    seed: int = 7,
    bus_name: str = REFERENCE_BUS,
) -> DemoResult:
    """Publish the budget stream, duplicate some deliveries, then the poison/unmatched events.

    Duplicates are made before the poison events are published: the copy step receives each
    queued message once, and the poison event must keep every one of its receives for the
    consumers, so it reaches the DLQ after exactly ``max_receive_count`` failures.
    """
    events_client = session.client("events")
    sqs = session.client("sqs")
    stream = budget_stream(events, poison=0, unmatched=0, seed=seed)
    published = publish(events_client, bus_name, stream)
    rng = random.Random(seed)
    normal = published.ids.get("normal", [])
    chosen = set(rng.sample(normal, round(len(normal) * duplicate_rate)))
    copies = {m.uuid: duplicate_deliveries(sqs, m.queue_url, chosen) for m in mappings}
    extra = budget_stream(0, poison=poison, unmatched=unmatched, seed=seed + 1)
    late = publish(events_client, bus_name, extra)
    for kind, ids in late.ids.items():
        published.ids.setdefault(kind, []).extend(ids)
    published.details.update(late.details)
    return DemoResult(published=published, duplicate_copies=copies)


def drain(
    session: AwsSession,
    mappings: list[DeployedMapping],
    *,
    retry_delay: int = 1,
    timeout: float = 300,
    log_dir: Path | None = None,
    on_batch: Callable[[DeployedMapping, int], None] | None = None,
    transient_failure: Callable[[dict[str, Any]], bool] | None = None,
    batching_window: float | None = None,
    receive_wait_seconds: int = RECEIVE_WAIT_SECONDS,
) -> EventSourceRunner:
    """Run every consumer until its queue is empty (poison messages end in the DLQs).

    ``batching_window`` (seconds) shortens the mappings' windows and ``receive_wait_seconds``
    the long poll of an empty queue; see :class:`EventSourceRunner`.
    """
    runner = EventSourceRunner(
        session,
        mappings,
        retry_delay=retry_delay,
        log_dir=log_dir,
        transient_failure=transient_failure,
        batching_window=batching_window,
        receive_wait_seconds=receive_wait_seconds,
    )
    runner.run_until_drained(timeout=timeout, on_batch=on_batch)
    return runner


def run_demo(
    *,
    port: int = 0,
    events: int = 40,
    retry_delay: int = 1,
    echo: Printer = print,
    log_dir: Path | None = None,
) -> DemoResult:
    """Start the emulator, deploy, publish, consume, report; always stop the emulator."""
    work_dir = Path(tempfile.mkdtemp(prefix="event-fanout-demo-"))
    log_dir = log_dir or work_dir / "logs"
    try:
        with LocalAws(port=port, log_path=work_dir / "moto.log") as aws:
            echo(f"[step] local AWS (moto) on {aws.endpoint_url}")
            echo(f"[step] cdk bootstrap + cdk deploy {REFERENCE_STACK} (the real CDK CLI)")
            deploy_reference_stack(aws.environment, echo=lambda line: echo(f"  {line}"))
            session = session_for(aws.environment)
            mappings = discover_mappings(session, REFERENCE_STACK, work_dir / "functions")
            for m in mappings:
                echo(
                    f"  mapping {m.queue_name} -> {m.function.handler} (batch {m.batch_size}, "
                    f"window {m.batching_window_seconds}s, max concurrency "
                    f"{m.max_concurrency or '-'}, timeout {m.function.timeout_seconds}s)"
                )
            echo(
                f"[step] publish {events} {BUDGET_CHANGED} events to {REFERENCE_BUS}, "
                "20% delivered twice, 1 poison event, 1 event no rule matches"
            )
            result = publish_demo_stream(session, mappings, events=events)
            echo("[step] run the consumers until their queues drain")
            runner = drain(session, mappings, retry_delay=retry_delay, log_dir=log_dir)
            result.rows = consumer_figures(session, mappings, runner.stats, result.duplicate_copies)
            echo(f"  consumer logs (stdout of each function): {log_dir}")
            return result
    finally:
        shutil.rmtree(work_dir / "functions", ignore_errors=True)
