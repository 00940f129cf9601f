"""The example app's own integration tests pass, run as its developers run them.

``examples/orders/tests`` use only the public pytest fixtures (``fanout_app``, registered by
the package's ``pytest11`` entry point): a separate pytest process in the app's directory, with
its own emulator, deploys the app once and runs them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orders"


def test_the_example_apps_tests_pass_with_the_public_fixtures(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path),
        ],
        cwd=EXAMPLE,
        # CDK's built-in template validation (~4 s a synth) is checked by the reference deploy.
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "CDK_VALIDATION": "false"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert summary.startswith("4 passed"), summary
