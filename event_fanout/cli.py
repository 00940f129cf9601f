"""The ``event-fanout`` command: the local demo and the local AWS lifecycle.

``event-fanout demo`` does everything in one go. The ``local`` group splits it up for
exploring: ``up`` starts the emulator in the background, ``deploy`` deploys the reference stack
into it, ``run`` publishes the demo stream and runs the consumers, ``down`` stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from event_fanout.local.cdk_cli import WORK_DIR_NAME, DeployError
from event_fanout.local.server import LocalAws, LocalAwsError, aws_environment
from event_fanout.stacks.reference import REFERENCE_STACK

console = Console(width=max(110, Console().width))


def state_dir() -> Path:
    """The tooling's working directory in the current project: ``./.event-fanout``."""
    return Path.cwd() / WORK_DIR_NAME


def state_file() -> Path:
    """Where ``local up`` records the background emulator (port, pid)."""
    return state_dir() / "server.json"


def _echo(line: str) -> None:
    if line.startswith("[step]"):
        console.print(f"[bold cyan]▶ {line[7:]}[/]")
    else:
        console.print(line, style="dim", markup=False, highlight=False)


def _fail(message: str) -> None:
    console.print(f"[bold red]✗[/] {message}", markup=True, highlight=False)
    raise SystemExit(1)


@click.group()
def main() -> None:
    """EventBridge -> SQS -> Lambda fan-out: run it locally on the moto emulator."""


@main.command()
@click.option("--port", default=0, show_default=True, help="Emulator port (0: any free port).")
@click.option("--events", default=40, show_default=True, help="Budget changes to publish.")
@click.option(
    "--retry-delay",
    default=1,
    show_default=True,
    help="Seconds before a failed record is retried (Lambda waits the visibility timeout).",
)
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
    """Start, deploy to, run and stop the local emulator step by step."""


def _state() -> dict[str, Any]:
    if not state_file().exists():
        _fail("no local emulator is running: start one with `event-fanout local up`")
    state: dict[str, Any] = json.loads(state_file().read_text())
    return state


def _env() -> dict[str, str]:
    return aws_environment(f"http://localhost:{_state()['port']}")


@local.command()
@click.option("--port", default=4566, show_default=True, help="Port on 127.0.0.1.")
def up(port: int) -> None:
    """Start the emulator in the background (state in .event-fanout/)."""
    if state_file().exists():
        _fail(f"an emulator is already recorded in {state_file()}: `event-fanout local down` first")
    state_dir().mkdir(exist_ok=True)
    aws = LocalAws(port=port, log_path=state_dir() / "moto.log")
    try:
        aws.start()
    except LocalAwsError as error:
        _fail(str(error))
    assert aws.process is not None
    state_file().write_text(json.dumps({"port": aws.port, "pid": aws.process.pid}))
    aws.process = None  # keep it running after this command exits
    console.print(
        f"[green]✓[/] local AWS on http://localhost:{aws.port} (log: {state_dir()}/moto.log)"
    )
    console.print("  use it: " + " ".join(f"{k}={v}" for k, v in _env().items() if "AWS_" in k))


@local.command("deploy")
def deploy_command() -> None:
    """Cdk bootstrap + cdk deploy the reference stack into the running emulator."""
    from event_fanout.local.demo import deploy_reference_stack

    try:
        deploy_reference_stack(_env(), echo=_echo)
    except DeployError as error:
        _fail(str(error))
    console.print(f"[green]✓[/] {REFERENCE_STACK} deployed and verified")


@local.command()
@click.option("--events", default=40, show_default=True)
@click.option("--retry-delay", default=1, show_default=True)
def run(events: int, retry_delay: int) -> None:
    """Publish the demo stream to the deployed stack and run the consumers until drained."""
    from event_fanout.local.demo import drain, publish_demo_stream
    from event_fanout.local.report import consumer_figures
    from event_fanout.local.runner import discover_mappings
    from event_fanout.local.session import session_for

    session = session_for(_env())
    os.environ.update(_env())
    try:
        mappings = discover_mappings(session, REFERENCE_STACK, state_dir() / "functions")
    except Exception as error:
        _fail(f"cannot read the deployed stack ({error}); run `event-fanout local deploy`")
        return
    result = publish_demo_stream(session, mappings, events=events)
    runner = drain(session, mappings, retry_delay=retry_delay, log_dir=state_dir() / "logs")
    _print_table(consumer_figures(session, mappings, runner.stats, result.duplicate_copies))


@local.command()
def down() -> None:
    """Stop the background emulator (its state is discarded)."""
    state = _state()
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(state["pid"]), signal.SIGTERM)
    state_file().unlink()
    console.print("[green]✓[/] local AWS stopped")


if __name__ == "__main__":
    main()
