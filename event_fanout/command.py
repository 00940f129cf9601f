"""The ``event-fanout`` console script: runs the CLI, or says in one line which extra it needs.

A base install (``pip install cdk-event-fanout``) carries the constructs only; the command's
dependencies (click, rich, boto3, the emulator) come with the ``local`` extra.
"""

from __future__ import annotations

import importlib.util
import sys

#: Modules the command imports, each from the ``local`` extra.
COMMAND_MODULES = ("click", "rich", "boto3", "moto", "aws_lambda_powertools")
INSTALL_HINT = "pip install 'cdk-event-fanout[local]'"


def missing_modules() -> list[str]:
    """The command's modules that are not installed (looked up, not imported: no start-up cost)."""
    return [name for name in COMMAND_MODULES if not _installed(name)]


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def main() -> None:
    """Run ``event-fanout``; without the ``local`` extra, print what to install and exit 2."""
    missing = missing_modules()
    if missing:
        print(
            f"event-fanout: the command needs the 'local' extra ({', '.join(missing)} not "
            f"installed): {INSTALL_HINT}",
            file=sys.stderr,
        )
        raise SystemExit(2)
    from event_fanout.cli import main as cli

    cli()
