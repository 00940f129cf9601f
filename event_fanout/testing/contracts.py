"""The contract check in your own test suite, in one line.

.. code-block:: python

    # tests/test_event_contracts.py
    from event_fanout.testing.contracts import assert_event_contracts
    from my_app.app import build_app

    def test_event_contracts_hold():
        assert_event_contracts(build_app(), "event-contracts.json", samples="event-samples")

The app is synthesized in the test (no CDK CLI), and checked as ``event-fanout contracts
check`` checks it: a breaking change of a locked version, a version a consumer accepts and
nothing publishes, a consumer model that cannot read a version it accepts, a sample that does
not fit the consumer it routes to. The assertion message lists each error and its fix.
Needs the ``local`` extra (the sample check validates with ``jsonschema``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from event_fanout.events.contracts import ContractFinding, errors
from event_fanout.operations.contract_check import (
    assembly_templates,
    contract_findings,
    load_samples,
)

if TYPE_CHECKING:
    from aws_cdk import Stage

__all__ = ["assert_event_contracts"]


def assert_event_contracts(
    app: Stage,
    lock_file: str | Path,
    *,
    samples: str | Path | None = None,
) -> list[ContractFinding]:
    """Synthesize ``app`` and fail (``AssertionError``) on any contract error; return findings.

    Parameters
    ----------
    app
        The CDK app (or a stage) to check, not yet synthesized or synthesized already.
    lock_file
        The committed baseline (``event-fanout contracts lock`` writes it); a missing file is
        an error naming the command.
    samples
        A directory of sample events (``*.json``), validated against the consumers each routes
        to. Default: none.

    """
    assembly = app.synth()
    templates = assembly_templates(Path(assembly.directory))
    path = Path(lock_file)
    baseline: dict[str, Any] | None = json.loads(path.read_text()) if path.exists() else None
    findings = contract_findings(
        templates, baseline, load_samples(Path(samples)) if samples is not None else None
    )
    failed = errors(findings)
    if failed:
        raise AssertionError(
            f"{len(failed)} event contract error(s):\n" + "\n".join(f"- {f}" for f in failed)
        )
    return findings
