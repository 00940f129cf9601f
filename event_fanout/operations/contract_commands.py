"""``event-fanout contracts lock`` and ``contracts check``: event contracts before deploy.

Run from the app's directory (its ``cdk.json``). The app is synthesized (``cdk synth``) into
``.event-fanout/contracts.out`` unless ``--assembly`` names a cloud assembly already there (a
CI job that synthesized before). The baseline is ``event-contracts.json`` next to ``cdk.json``
(``--file``), committed with the event types; ``--against REF`` reads it from a git revision
instead (``main``, ``origin/main``, a tag), so a pull request is checked against what is
deployed, whatever the branch's own baseline says.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import click

from event_fanout.console import console, fail
from event_fanout.events.contracts import (
    DEFAULT_LOCK_FILE,
    ContractFinding,
    app_contracts,
    errors,
    lock_document,
)
from event_fanout.local.cdk_cli import WORK_DIR_NAME, DeployError, run_cdk
from event_fanout.local.project import Project
from event_fanout.operations.contract_check import (
    assembly_templates,
    contract_findings,
    load_samples,
)

__all__ = ["contracts"]

_STYLES = {"error": "red", "change": "yellow", "note": "dim"}


@click.group()
def contracts() -> None:
    """Event contracts: lock the app's event types, check a change against the lock."""


def _assembly_option(command: Any) -> Any:
    command = click.option(
        "--assembly",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="A cloud assembly to read (default: synthesize the app here).",
    )(command)
    return click.option(
        "--file",
        "lock_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_LOCK_FILE,
        show_default=True,
        help="The baseline, relative to the app's directory.",
    )(command)


@contracts.command("lock")
@_assembly_option
def lock_command(assembly: Path | None, lock_file: Path) -> None:
    """Write the baseline: every event type version the app declares, with its schema."""
    templates = _templates(assembly)
    document = lock_document(app_contracts(templates))
    if not document["eventTypes"]:
        fail("the app declares no event type (add_consumer(event_type=...), add_producer(...))")
    path = Project.here().root / lock_file
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    versions = sum(len(entry["versions"]) for entry in document["eventTypes"].values())
    console.print(
        f"[green]✓[/] {path}: {len(document['eventTypes'])} event type(s), {versions} "
        "version(s); commit it with the event types"
    )


@contracts.command("check")
@_assembly_option
@click.option("--against", metavar="REF", help="Read the baseline from git revision REF.")
@click.option(
    "--samples",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Sample events (*.json) to validate against the consumers they route to "
    "(default: event-samples/ when it exists).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def check_command(
    assembly: Path | None,
    lock_file: Path,
    against: str | None,
    samples: Path | None,
    as_json: bool,
) -> None:
    """Check the app's event types against the baseline; exit 1 on a breaking change."""
    root = Project.here().root
    baseline = _baseline(root, lock_file, against)
    if samples is None and (root / "event-samples").is_dir():
        samples = root / "event-samples"
    findings = contract_findings(
        _templates(assembly), baseline, load_samples(samples) if samples else None
    )
    failed = errors(findings)
    if as_json:
        click.echo(json.dumps([_as_json(finding) for finding in findings], indent=2))
    else:
        for finding in findings:
            console.print(f"[{_STYLES[finding.level]}]{finding}[/]", highlight=False)
        console.print(
            f"[red]✗[/] {len(failed)} contract error(s)"
            if failed
            else f"[green]✓[/] event contracts hold ({len(findings)} finding(s), no error)"
        )
    if failed:
        raise SystemExit(1)


def _templates(assembly: Path | None) -> dict[str, dict[str, Any]]:
    """The app's templates: from ``assembly``, else from a fresh ``cdk synth``."""
    if assembly is None:
        project = Project.here()
        if not (project.root / "cdk.json").exists():
            fail(f"no cdk.json in {project.root}: run this in your CDK app's directory")
        assembly = project.root / WORK_DIR_NAME / "contracts.out"
        try:
            run_cdk(["synth", "--quiet", "--output", str(assembly)], {}, workdir=project.root)
        except DeployError as error:
            fail(str(error))
    return assembly_templates(assembly)


def _baseline(root: Path, lock_file: Path, against: str | None) -> dict[str, Any] | None:
    if against is None:
        path = root / lock_file
        return json.loads(path.read_text()) if path.exists() else None
    shown = subprocess.run(
        ["git", "show", f"{against}:./{lock_file.as_posix()}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if shown.returncode != 0:
        fail(f"cannot read {lock_file} at {against}: {shown.stderr.strip()}")
    baseline: dict[str, Any] = json.loads(shown.stdout)
    return baseline


def _as_json(finding: ContractFinding) -> dict[str, Any]:
    return {
        "level": finding.level,
        "eventType": finding.event_type,
        "version": finding.version,
        "message": finding.message,
        "changes": [
            {"path": c.path, "kind": c.kind, "breaking": c.breaking} for c in finding.changes
        ],
    }
