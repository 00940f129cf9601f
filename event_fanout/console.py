"""The ``event-fanout`` command's output: one console, a step line, a one-line failure."""

from __future__ import annotations

from typing import NoReturn

from rich.console import Console

console = Console(width=max(110, Console().width))


def echo(line: str) -> None:
    """A line of a long-running step's output: ``[step] ...`` stands out, the rest is dim."""
    if line.startswith("[step]"):
        console.print(f"[bold cyan]▶ {line[7:]}[/]")
    else:
        console.print(line, style="dim", markup=False, highlight=False)


def fail(message: str) -> NoReturn:
    """Print ``message`` as one failure line and exit 1."""
    console.print(f"[bold red]✗[/] {message}", markup=True, highlight=False)
    raise SystemExit(1)
