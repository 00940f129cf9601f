"""The day-2 commands of ``event-fanout``: status, dlq peek, redrive, replay, route, publish.

Each is a thin layer over the modules of this package: it finds the stacks (``--stack``, or the
stacks of the CDK app in the current directory), the AWS environment (the caller's credentials
and region; ``--local`` or ``AWS_ENDPOINT_URL`` for the emulator), and prints a table for people
or JSON (``--json``) for scripts. A failure is one line and exit status 1.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from event_fanout.console import console, fail
from event_fanout.local.assembly import assembly_stacks
from event_fanout.local.project import Project, recorded_emulator
from event_fanout.local.server import aws_environment
from event_fanout.local.session import AwsSession, session_for
from event_fanout.operations.dead_letters import peek
from event_fanout.operations.discovery import (
    DiscoveryError,
    Fanout,
    consumers_by_rule,
    deployed_templates,
    discover,
    find_consumer,
)
from event_fanout.operations.redrive import (
    RedriveResult,
    queue_depth,
    redrive,
    redrive_undeliverable,
)
from event_fanout.operations.replay import parse_time, start_replay, wait_for_replay
from event_fanout.operations.status import FanoutStatus, fanout_status

__all__ = [
    "diagram_command",
    "dlq",
    "operating_env",
    "publish_command",
    "redrive_command",
    "replay_command",
    "route_command",
    "status",
]

F = TypeVar("F", bound=Callable[..., Any])


def _operating_options(command: F) -> F:
    """``--stack``, ``--local`` and ``--json``, shared by every command."""
    command = click.option(
        "--json", "as_json", is_flag=True, help="Print JSON for scripts instead of tables."
    )(command)
    command = click.option(
        "--local",
        is_flag=True,
        help="Use the emulator `event-fanout local up` started here (else your AWS "
        "credentials and region; AWS_ENDPOINT_URL is honoured).",
    )(command)
    command = click.option(
        "--stack",
        "stacks",
        multiple=True,
        metavar="NAME",
        help="A deployed stack to look in (repeatable). Default: the stacks of the CDK app here.",
    )(command)
    return command


def operating_env(local: bool) -> dict[str, str]:
    """The AWS environment to operate on: the project's emulator, or the caller's own."""
    if not local:
        return dict(os.environ)
    state = recorded_emulator(Project.here())
    if state is None:
        fail("no local emulator is running here: start one with `event-fanout local up`")
    return aws_environment(f"http://localhost:{state['port']}")


def stacks_here(stacks: tuple[str, ...]) -> list[str]:
    """The stacks named, else the stacks of the CDK app in the current directory."""
    if stacks:
        return list(stacks)
    return [stack.stack_name for stack in assembly_stacks(_assembly_dir("pass --stack NAME"))]


def _fanouts(session: AwsSession, stacks: tuple[str, ...]) -> list[Fanout]:
    try:
        fanouts = discover(session, stacks_here(stacks))
    except DiscoveryError as error:
        fail(str(error))
    if not fanouts:
        fail(
            "no fan-out in those stacks: none of their templates has an EventFanout manifest "
            "entry (docs/operations.md; redeploy with this version of cdk-event-fanout)"
        )
    return fanouts


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _operation(command: F) -> F:
    """Turn an AWS error into one failure line (the command's own messages pass through)."""
    from botocore.exceptions import BotoCoreError, ClientError

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (BotoCoreError, ClientError) as error:
            fail(f"{type(error).__name__}: {error}")

    return run  # type: ignore[return-value]


# -- status -----------------------------------------------------------------------------------


@click.command()
@_operating_options
@click.option("--minutes", default=15, show_default=True, help="Window of the runtime's counts.")
@click.option("--watch", is_flag=True, help="Refresh until Ctrl-C.")
@click.option("--interval", default=10, show_default=True, help="--watch: seconds between reads.")
@_operation
def status(
    stacks: tuple[str, ...], local: bool, as_json: bool, minutes: int, watch: bool, interval: int
) -> None:
    """Every consumer's lag, backlog, dead letters, alarms and counts; the one in trouble first."""
    session = session_for(operating_env(local))
    fanouts = _fanouts(session, stacks)
    if as_json:
        _print_json([s.to_json() for s in fanout_status(session, fanouts, minutes=minutes)])
        return
    if not watch:
        console.print(_status_table(fanout_status(session, fanouts, minutes=minutes), minutes))
        return
    with Live(console=console, auto_refresh=False) as live:
        try:
            while True:
                statuses = fanout_status(session, fanouts, minutes=minutes)
                live.update(_status_table(statuses, minutes), refresh=True)
                time.sleep(interval)
        except KeyboardInterrupt:
            pass


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _status_table(statuses: list[FanoutStatus], minutes: int) -> Group:
    """One table per fan-out, the consumer in trouble on top, its undeliverable events below."""
    tables = []
    for fanout in statuses:
        table = Table(title=f"{fanout.fanout} ({fanout.stack}): counts over the last {minutes} min")
        for column in ("consumer", "oldest", "visible", "in flight", "DLQ"):
            table.add_column(column, justify="left" if column == "consumer" else "right")
        table.add_column("alarms in ALARM", min_width=23, overflow="fold")
        for column in ("processed", "duplicates", "failed"):
            table.add_column(column, justify="right")
        for row in fanout.consumers:
            alarming = ", ".join(row.alarming)
            table.add_row(
                row.consumer,
                _age(row.oldest_message_age),
                str(row.visible),
                str(row.in_flight),
                f"[red]{row.dead_letter_depth}[/]" if row.dead_letter_depth else "0",
                f"[red]{alarming}[/]" if alarming else "-",
                _count(row.counts.get("processed")),
                _count(row.counts.get("duplicates")),
                _count(row.counts.get("failed")),
            )
        undeliverable = fanout.undeliverable_events
        table.caption = f"undeliverable events: {undeliverable}" + (
            " [red](ALARM)[/]" if fanout.undeliverable_events_alarm == "ALARM" else ""
        )
        tables.append(table)
    return Group(*tables)


# -- dead letters -------------------------------------------------------------------------------


@click.group()
def dlq() -> None:
    """Look into a consumer's dead-letter queue."""


@dlq.command("peek")
@click.argument("consumer")
@_operating_options
@click.option("--limit", default=10, show_default=True, help="Most messages to show.")
@_operation
def dlq_peek(
    consumer: str, stacks: tuple[str, ...], local: bool, as_json: bool, limit: int
) -> None:
    """What waits in CONSUMER's DLQ, left in place (the messages are visible again at once)."""
    session = session_for(operating_env(local))
    fanout, found = _consumer(session, stacks, consumer)
    letters = peek(session.client("sqs"), found.dead_letter_queue.url, limit=limit)
    if as_json:
        _print_json([letter.to_json() for letter in letters])
        return
    console.print(f"[bold]{fanout.path}/{found.name}[/]: {len(letters)} message(s) in its DLQ")
    for letter in letters:
        sent = (letter.sent_at or "-").replace("T", " ").removesuffix("+00:00")
        console.print(
            f"\n[bold]{letter.event_id or letter.message_id}[/]  "
            f"{letter.source or '-'} / {letter.detail_type or '-'}, "
            f"received {letter.receive_count} times, sent {sent} UTC",
            highlight=False,
            soft_wrap=True,
        )
        if letter.reason:
            console.print(f"  reason: {letter.reason}", markup=False, highlight=False)
        console.print(f"  detail: {letter.excerpt}", markup=False, highlight=False, soft_wrap=True)


def _consumer(session: AwsSession, stacks: tuple[str, ...], name: str) -> Any:
    try:
        return find_consumer(_fanouts(session, stacks), name)
    except DiscoveryError as error:
        fail(str(error))


# -- redrive ------------------------------------------------------------------------------------


@click.command("redrive")
@click.argument("consumer", required=False)
@_operating_options
@click.option(
    "--undeliverable",
    "fanout_path",
    metavar="FANOUT",
    help="Redrive a fan-out's undeliverable-events queue instead (its path, e.g. Stack/Fanout).",
)
@click.option("--max-per-second", type=click.IntRange(min=1), help="Cap the redrive's rate.")
@click.option("--dry-run", is_flag=True, help="Say what would move, move nothing.")
@click.option(
    "--method",
    type=click.Choice(["auto", "move-task", "copy"]),
    default="auto",
    show_default=True,
    help="SQS's move task, or receive-send-delete (auto: the move task where SQS offers it).",
)
@click.option(
    "--visibility-timeout",
    default=30,
    show_default=True,
    help="copy: seconds a received message stays hidden (an interrupted run's come back then).",
)
@_operation
def redrive_command(
    consumer: str | None,
    stacks: tuple[str, ...],
    local: bool,
    as_json: bool,
    fanout_path: str | None,
    max_per_second: int | None,
    dry_run: bool,
    method: str,
    visibility_timeout: int,
) -> None:
    """Move CONSUMER's dead letters back to its queue, with progress and a final count."""
    if (consumer is None) == (fanout_path is None):
        fail("name a CONSUMER, or pass --undeliverable FANOUT")
    session = session_for(operating_env(local))
    sqs = session.client("sqs")
    if fanout_path is not None:
        fanouts = [f for f in _fanouts(session, stacks) if fanout_path in (f.path, f.name)]
        if not fanouts:
            fail(f"no fan-out {fanout_path!r} in those stacks")
        source, label = fanouts[0].undeliverable_events_queue, f"{fanout_path} undeliverable events"
    else:
        owner, found = _consumer(session, stacks, consumer or "")
        source, label = found.dead_letter_queue, f"{owner.path}/{found.name}"
    waiting = sum(queue_depth(sqs, source).values())
    if dry_run:
        message = f"{label}: {waiting} message(s) would move from {source.name}"
        _print_json({"source": source.arn, "messages": waiting}) if as_json else console.print(
            message
        )
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=as_json,
    ) as progress:
        task = progress.add_task(f"redrive {label}", total=waiting or None)

        def advance(moved: int, total: int | None) -> None:
            progress.update(task, completed=moved, total=total or waiting or None)

        result: RedriveResult
        if fanout_path is not None:
            result = redrive_undeliverable(
                sqs,
                fanouts[0],
                max_per_second=max_per_second,
                on_progress=advance,
                visibility_timeout=visibility_timeout,
            )
        else:
            result = redrive(
                sqs,
                source,
                found.queue,
                method=method,  # type: ignore[arg-type]
                max_per_second=max_per_second,
                on_progress=advance,
                visibility_timeout=visibility_timeout,
            )
    if as_json:
        _print_json(result.to_json())
    else:
        console.print(
            f"[green]✓[/] {label}: {result.moved} message(s) moved ({result.method})"
            + (f", {result.failed} failed to send" if result.failed else "")
            + (f", {result.skipped} with no known consumer left in place" if result.skipped else "")
        )
    if result.status != "COMPLETED" or result.failed:
        fail(f"redrive {result.status.lower()}: {result.reason or 'see the counts above'}")


# -- replay -------------------------------------------------------------------------------------


@click.command("replay")
@click.argument("consumer")
@_operating_options
@click.option("--from", "start", required=True, help="Start of the window (ISO 8601, or -2h).")
@click.option("--to", "end", default="now", show_default=True, help="End of the window.")
@click.option(
    "--reprocess",
    is_flag=True,
    help="Run events the consumer already processed again (keyed apart, once per replay). "
    "Default: they are skipped as duplicates.",
)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow until done.")
@_operation
def replay_command(
    consumer: str,
    stacks: tuple[str, ...],
    local: bool,
    as_json: bool,
    start: str,
    end: str,
    reprocess: bool,
    wait: bool,
) -> None:
    """Replay the fan-out's archived events of a window to CONSUMER's rule only."""
    session = session_for(operating_env(local))
    fanout, found = _consumer(session, stacks, consumer)
    try:
        window = parse_time(start), parse_time(end)
        events = session.client("events")
        name = start_replay(events, fanout, found, *window, reprocess=reprocess)
    except (ValueError, DiscoveryError) as error:
        fail(str(error))
    if not wait:
        _print_json({"name": name, "state": "STARTING"}) if as_json else console.print(
            f"replay {name} started: `aws events describe-replay --replay-name {name}`"
        )
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[state]}"),
        console=console,
        disable=as_json,
    ) as progress:
        task = progress.add_task(f"replay {name}", total=1.0, state="STARTING")
        result = wait_for_replay(
            events,
            name,
            on_progress=lambda done, state: progress.update(task, completed=done, state=state),
        )
    if as_json:
        _print_json(result.to_json())
    elif result.state == "COMPLETED":
        console.print(f"[green]✓[/] replay {name} completed, to {fanout.path}/{found.name} only")
    if result.state != "COMPLETED":
        fail(f"replay {name} {result.state.lower()}: {result.reason or 'no reason given'}")


# -- route --------------------------------------------------------------------------------------


@click.command("route")
@click.argument("event_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_operating_options
@click.option("--aws", "ask_aws", is_flag=True, help="Ask EventBridge (TestEventPattern).")
@_operation
def route_command(
    event_file: Path, stacks: tuple[str, ...], local: bool, as_json: bool, ask_aws: bool
) -> None:
    """Which consumers' rules match the event in EVENT_FILE, and the field where the others fail.

    The patterns come from the deployed stacks (--stack) or from the app's cloud assembly here
    (cdk.out, or the last `local deploy`); matching is offline unless --aws.
    """
    from event_fanout.operations.route import (
        RouteError,
        patterns_from_templates,
        route,
        route_with_eventbridge,
    )

    try:
        event = json.loads(event_file.read_text())
    except json.JSONDecodeError as error:
        fail(f"{event_file} is not JSON: {error}")
    session = session_for(operating_env(local))
    templates = deployed_templates(session, stacks) if stacks else _assembly_templates()
    names = consumers_by_rule(templates)
    try:
        patterns = {
            names[rule]: pattern
            for rule, pattern in patterns_from_templates(templates).items()
            if rule in names
        }
        if not patterns:
            fail("no consumer rule in those templates (none has an EventFanout manifest entry)")
        results = (
            route_with_eventbridge(session.client("events"), event, patterns)
            if ask_aws
            else route(event, patterns)
        )
    except RouteError as error:
        fail(str(error))
    if as_json:
        _print_json([result.to_json() for result in results])
        return
    table = Table(title=f"{event_file.name}: {sum(r.matched for r in results)} consumer(s) match")
    for column in ("consumer", "matches", "first field that does not match"):
        table.add_column(column)
    for result in results:
        table.add_row(
            result.consumer,
            "[green]yes[/]" if result.matched else "no",
            result.mismatched_field or "",
        )
    console.print(table)


def _assembly_templates() -> dict[str, Any]:
    """The templates of the app's cloud assembly here, nested stacks' included."""
    assembly = _assembly_dir("run `npx cdk synth`, or pass --stack NAME")
    return {
        path.name: json.loads(path.read_text()) for path in sorted(assembly.glob("*.template.json"))
    }


def _assembly_dir(fix: str) -> Path:
    """The app's cloud assembly here: the last ``local deploy``'s, else ``cdk.out``."""
    project = Project.here()
    for assembly in (project.assembly_dir, project.root / "cdk.out"):
        if (assembly / "manifest.json").exists():
            return assembly
    fail(f"no cloud assembly in {project.root}: {fix}")


# -- publish ------------------------------------------------------------------------------------


@click.command("publish")
@click.argument("event_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_operating_options
@click.option("--bus", help="The bus (default: the entries' EventBusName, else the app's fan-out).")
@click.option("--correlation-id", help="Stamped on every event that carries none (default: new).")
@_operation
def publish_command(
    event_file: Path,
    stacks: tuple[str, ...],
    local: bool,
    as_json: bool,
    bus: str | None,
    correlation_id: str | None,
) -> None:
    """Publish the events of EVENT_FILE (a JSON event, a JSON list, or NDJSON) onto a bus.

    Each event is a PutEvents entry (Source, DetailType, Detail) or an event as EventBridge
    delivers it (source, detail-type, detail). Batched, retried, and counted.
    """
    from event_fanout.producer import EventPublisher, InvalidEventError

    session = session_for(operating_env(local))
    entries = [_as_entry(event) for event in _read_events(event_file)]
    if bus is None and any("EventBusName" not in entry for entry in entries):
        fanouts = _fanouts(session, stacks)
        buses = sorted({f.bus_name for f in fanouts if f.bus_name})
        if len(buses) != 1:
            fail(f"pass --bus: the app's fan-outs use {len(buses)} buses ({', '.join(buses)})")
        bus = buses[0]
    publisher = EventPublisher(session.client("events"), event_bus_name=bus)
    try:
        result = publisher.publish(entries, correlation_id=correlation_id)
    except InvalidEventError as error:
        fail(str(error))
    summary = {
        "accepted": len(result.accepted),
        "failed": len(result.failed),
        "correlation_id": result.correlation_id,
        "event_ids": [a.event_id for a in result.accepted],
        "failures": [
            {"index": f.index, "error_code": f.error_code, "error_message": f.error_message}
            for f in result.failed
        ],
    }
    if as_json:
        _print_json(summary)
    else:
        console.print(
            f"[green]✓[/] {summary['accepted']} accepted, {summary['failed']} failed "
            f"(correlation id {result.correlation_id})"
        )
        for failure in result.failed:
            console.print(f"  event {failure.index}: {failure.error_code}: {failure.error_message}")
    if result.failed:
        raise SystemExit(1)


def _read_events(path: Path) -> list[Any]:
    text = path.read_text().strip()
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError:
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            fail(f"{path} is neither JSON nor NDJSON: {error}")
    return loaded if isinstance(loaded, list) else [loaded]


def _as_entry(event: Any) -> dict[str, Any]:
    """A PutEvents entry from an entry, or from an event as EventBridge delivers it."""
    if not isinstance(event, dict):
        fail(f"an event must be a JSON object, got {type(event).__name__}")
    if "Source" in event or "DetailType" in event:
        return dict(event)
    entry: dict[str, Any] = {
        "Source": event.get("source"),
        "DetailType": event.get("detail-type"),
        "Detail": event.get("detail", {}),
    }
    if event.get("resources"):
        entry["Resources"] = event["resources"]
    return entry


# -- diagram ------------------------------------------------------------------------------------


@click.command("diagram")
@click.option(
    "--stack",
    "stacks",
    multiple=True,
    metavar="NAME",
    help="A deployed stack to draw (repeatable). Default: the app's cloud assembly here.",
)
@click.option("--local", is_flag=True, help="With --stack: read it from the emulator here.")
@_operation
def diagram_command(stacks: tuple[str, ...], local: bool) -> None:
    """Print the fan-outs as a Mermaid flowchart: bus, rules and patterns, queues, functions."""
    from event_fanout.operations.diagram import mermaid

    templates = (
        deployed_templates(session_for(operating_env(local)), stacks)
        if stacks
        else _assembly_templates()
    )
    click.echo(mermaid(templates), nl=False)
