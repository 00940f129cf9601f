"""The ``event-fanout`` command: the local demo and the local AWS lifecycle.

``event-fanout demo`` does everything in one go on the reference stack. The ``local`` group
works on any CDK app, from its directory: ``up`` starts the emulator in the background,
``deploy`` deploys (or updates) the app's stacks into it, ``run`` plays the consumers' event
source mappings, ``down`` stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from event_fanout.console import console
from event_fanout.console import echo as _echo
from event_fanout.console import fail as _fail
from event_fanout.local.cdk_cli import DeployError
from event_fanout.local.project import (
    EmulatorUnavailableError,
    Project,
    deployed_summary,
    emulator_calls,
    recorded_emulator,
)
from event_fanout.local.server import LocalAws, LocalAwsError, environment
from event_fanout.operations.commands import (
    diagram_command,
    dlq,
    operating_env,
    publish_command,
    redrive_command,
    replay_command,
    route_command,
    status,
)
from event_fanout.operations.contract_commands import contracts

#: How long the local runner waits before a failed record is retried (``demo``, ``local run``).
RETRY_DELAY = click.option(
    "--retry-delay",
    default=1,
    show_default=True,
    help="Seconds before a failed record is retried (Lambda waits the visibility timeout).",
)


@click.group()
def main() -> None:
    """EventBridge -> SQS -> Lambda fan-out: run it locally on the moto emulator."""


@main.command()
@click.option("--port", default=0, show_default=True, help="Emulator port (0: any free port).")
@click.option("--events", default=40, show_default=True, help="Budget changes to publish.")
@RETRY_DELAY
@click.option(
    "--aws",
    "on_aws",
    is_flag=True,
    envvar="EVENT_FANOUT_AWS",
    help="Deploy to the account and region of your AWS credentials instead of the emulator "
    "(also: EVENT_FANOUT_AWS=1).",
)
@click.option(
    "--wait",
    default=1200,
    show_default=True,
    help="--aws: seconds to watch Lambda drain the queues (the poison event needs ~15 min).",
)
@click.option("--keep", is_flag=True, help="--aws: leave the stack deployed (default: destroy).")
def demo(port: int, events: int, retry_delay: int, on_aws: bool, wait: int, keep: bool) -> None:
    """Deploy the reference stack, publish events, consume them, print the figures.

    On the local emulator by default; with --aws, on real AWS with your credentials.
    """
    from event_fanout.local.demo import run_demo

    if on_aws:
        _aws_demo(events=events, wait=wait, keep=keep)
        return
    started = time.monotonic()
    try:
        result = run_demo(port=port, events=events, retry_delay=retry_delay, echo=_echo)
    except (LocalAwsError, DeployError, TimeoutError) as error:
        _fail(str(error))
        return
    published = result.published
    console.print(
        f"published {published.total} events: {len(published.ids.get('normal', []))} budget "
        f"changes, {len(published.ids.get('poison', []))} poison, "
        f"{len(published.ids.get('unmatched', []))} matched by no rule; duplicate deliveries: "
        + ", ".join(str(n) for n in result.duplicate_copies.values())
    )
    _print_table(result.rows)
    console.print(
        f"[green]done in {time.monotonic() - started:.0f} s; the emulator is stopped and its "
        "state discarded[/]"
    )


def _aws_demo(*, events: int, wait: int, keep: bool) -> None:
    from event_fanout.local.aws_demo import run_aws_demo

    try:
        result = run_aws_demo(events=events, wait=wait, keep=keep, echo=_echo)
    except DeployError as error:
        _fail(str(error))
        return
    console.print(
        f"published {result.published.total} events to aws://{result.account}/{result.region} "
        f"and {len(result.republished)} of them a second time"
        + ("" if result.drained else f"; the queues had not drained after {wait} s")
    )
    table = Table(title="Consumers (as Lambda left them)")
    columns = ("consumer", "idempotency records", "effect items", "queued", "in DLQ", "DLQ alarm")
    for column in columns:
        table.add_column(column, justify="left" if column == "consumer" else "right")
    for row in result.rows:
        table.add_row(
            row.consumer,
            str(row.idempotency_records),
            str(row.effect_items),
            str(row.still_queued),
            str(row.in_dlq),
            row.dlq_alarm,
        )
    console.print(table)


def _print_table(rows: list[Any]) -> None:
    table = Table(title="Consumers")
    for column in (
        "consumer",
        "routed",
        "deliveries",
        "processed",
        "duplicates skipped",
        "failed attempts",
        "in DLQ",
        "DLQ alarm",
    ):
        table.add_column(column, justify="left" if column == "consumer" else "right")
    for row in rows:
        alarm = f"[red]{row.dlq_alarm}[/]" if row.dlq_alarm == "ALARM" else row.dlq_alarm
        table.add_row(
            row.consumer,
            str(row.routed),
            str(row.deliveries),
            str(row.processed),
            str(row.duplicates_skipped),
            str(row.failed_attempts),
            str(row.in_dlq),
            alarm,
        )
    console.print(table)


# -- local lifecycle ----------------------------------------------------------------------------


@main.group()
def local() -> None:
    """Your CDK app on the local emulator: up, deploy, run, down (run from the app's directory)."""


def _env() -> dict[str, str]:
    return operating_env(local=True)


@contextlib.contextmanager
def _emulator_guard() -> Iterator[None]:
    """One line, and exit 1, when the emulator stops answering mid-command."""
    endpoint = _env()["AWS_ENDPOINT_URL"]
    try:
        with emulator_calls(endpoint):
            yield
    except EmulatorUnavailableError as error:
        _fail(str(error))


@local.command()
@click.option("--port", default=4566, show_default=True, help="Port on 127.0.0.1.")
def up(port: int) -> None:
    """Start the emulator in the background (state and log in .event-fanout/)."""
    project = Project.here()
    state = recorded_emulator(project)
    if state is not None:
        _fail(
            f"an emulator already runs for this app on port {state['port']} (pid {state['pid']}):"
            " `event-fanout local down` first"
        )
    project.work_dir.mkdir(exist_ok=True)
    aws = LocalAws(port=port, log_path=project.work_dir / "moto.log")
    try:
        aws.start()
    except LocalAwsError as error:
        _fail(str(error))
    assert aws.process is not None
    project.state_file.write_text(json.dumps({"port": aws.port, "pid": aws.process.pid}))
    aws.process = None  # keep it running after this command exits
    console.print(
        f"[green]✓[/] local AWS on http://localhost:{aws.port} (log: {project.work_dir}/moto.log)"
    )
    console.print("  use it: " + " ".join(f"{k}={v}" for k, v in _env().items() if "AWS_" in k))


@local.command("deploy")
@click.argument("stacks", nargs=-1)
def deploy_command(stacks: tuple[str, ...]) -> None:
    """Deploy the app's stacks (all, or those named) into the running emulator, verified.

    A stack deployed before is updated in place: the queues, their messages and the
    idempotency records of consumers the change leaves alone survive.
    """
    from event_fanout.local.deploy import deploy_project

    with _emulator_guard():
        try:
            verified = deploy_project(_env(), Project.here().root, stacks, echo=_echo)
        except DeployError as error:
            _fail(str(error))
            return
    summary = deployed_summary(verified)
    for fanout in summary.fanouts:
        console.print(
            f"[green]✓[/] {fanout.path}: {len(fanout.consumers)} consumers "
            f"({', '.join(fanout.consumers)}), {fanout.rules} rules, {fanout.queues} queues, "
            f"in {', '.join(sorted(fanout.stacks))}"
        )
    console.print(
        f"[green]✓[/] {len(verified)} stack(s) deployed and verified, {summary.functions} functions"
    )


@local.command()
@click.option(
    "--until-drained/--follow",
    default=True,
    show_default=True,
    help="Stop once every queue is empty, or keep polling until Ctrl-C.",
)
@click.option("--timeout", default=300, show_default=True, help="--until-drained: seconds.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Batches of one consumer run at once, never more than its max_concurrency; above 1 "
    "each runs in a process of its own, as Lambda's execution environments do.",
)
@RETRY_DELAY
@click.option(
    "--report",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write one self-contained HTML page: the topology and, per consumer, charts of "
    "its queue depth, oldest message age and records over the run.",
)
def run(
    until_drained: bool, timeout: int, concurrency: int, retry_delay: int, report: Path | None
) -> None:
    """Play every deployed SQS event source mapping of the app's Python consumers."""
    from event_fanout.local.report import consumer_figures
    from event_fanout.local.runner import EventSourceRunner
    from event_fanout.local.session import session_for
    from event_fanout.local.timeline import RunTimeline

    project = Project.here()
    session = session_for(_env())
    stopped_by: str | None = None
    # Code the handlers run at import reads the endpoint from the environment; only while running.
    with environment(_env()), _emulator_guard():
        try:
            mappings = project.mappings(session)
        except DeployError as error:
            _fail(str(error))
            return
        runner = EventSourceRunner(
            session,
            mappings,
            retry_delay=retry_delay,
            log_dir=project.work_dir / "logs",
            concurrency=concurrency,
            metrics_to_cloudwatch=True,
            timeline=RunTimeline() if report is not None else None,
        )
        for mapping in mappings:
            console.print(
                f"  {mapping.queue_name} -> {mapping.function.handler} (batch "
                f"{mapping.batch_size}, window {mapping.batching_window_seconds} s, "
                f"concurrency {runner.concurrency_of(mapping)})"
            )
        with runner:
            try:
                if until_drained:
                    runner.run_until_drained(timeout=timeout)
                else:
                    runner.run_forever(on_batch=_print_batch)
            except TimeoutError as error:
                stopped_by = str(error)  # the table and the report show where it is stuck
            except KeyboardInterrupt:
                console.print("stopped")
            runner.sample(force=True)
        figures = consumer_figures(session, mappings, runner.stats, {})
        _print_table(figures)
        if report is not None and runner.timeline is not None:
            from event_fanout.local.run_report import report_of_run

            page = report_of_run(project, session, runner.timeline, mappings, figures)
            written = page.write(report)
            console.print(f"report: {written}")
    console.print(f"consumer logs: {project.work_dir / 'logs'}")
    if stopped_by is not None:
        _fail(stopped_by)


def _print_batch(mapping: Any, count: int) -> None:
    console.print(f"  {mapping.queue_name}: {count} record(s)", highlight=False)


@local.command()
def down() -> None:
    """Stop the background emulator (its state is discarded)."""
    project = Project.here()
    state = recorded_emulator(project)
    if state is None:
        _fail("no local emulator is running here (a stale record was removed, if any)")
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(state["pid"]), signal.SIGTERM)
    project.state_file.unlink()
    console.print("[green]✓[/] local AWS stopped")


main.add_command(status)
main.add_command(dlq)
main.add_command(redrive_command)
main.add_command(replay_command)
main.add_command(route_command)
main.add_command(publish_command)
main.add_command(diagram_command)
main.add_command(contracts)


if __name__ == "__main__":
    main()
