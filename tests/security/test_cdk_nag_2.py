"""cdk-nag 2 (Aspects and ``cdk_nag`` resource metadata) honours the library's acknowledgements.

cdk-nag 3 reads ``Validations`` acknowledgements; teams still on cdk-nag 2 read suppressions from
each resource's ``cdk_nag`` metadata. The app runs in a subprocess with cdk-nag 2 (installed by
scripts/setup.sh into ``.cdk-nag-2``) ahead of this virtualenv's cdk-nag 3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from event_fanout.constructs import nag_acknowledgements as nag
from tests.builders import REPO_ROOT

CDK_NAG_2 = REPO_ROOT / ".cdk-nag-2"
APP = Path(__file__).parent / "cdk_nag_2_app.py"


@pytest.fixture(scope="module")
def findings() -> list[dict[str, str]]:
    assert (CDK_NAG_2 / "cdk_nag").is_dir(), "run scripts/setup.sh (it installs cdk-nag 2)"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(CDK_NAG_2), str(REPO_ROOT)]),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        [sys.executable, str(APP)], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    version = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('cdk-nag'))"],
        env={**env, "PYTHONPATH": str(CDK_NAG_2)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version.startswith("2."), version
    return [json.loads(line) for line in result.stdout.splitlines()]


def _acknowledged(short: bool = True) -> set[str]:
    return {
        rule.split("::", 1)[-1] if short else rule for rules in nag.ALL.values() for rule in rules
    }


def test_cdk_nag_2_reports_nothing_the_library_acknowledges(findings: list[dict[str, str]]) -> None:
    library = [f for f in findings if "/Fanout/" in f["path"]]
    assert [f for f in library if f["rule"] in _acknowledged()] == []


def test_cdk_nag_2_still_reports_the_users_own_unacknowledged_queue(
    findings: list[dict[str, str]],
) -> None:
    """The control: the same rules fire where nothing acknowledges them."""
    own = {f["rule"] for f in findings if "/UsersOwnQueue/" in f["path"]}
    assert "AwsSolutions-SQS3" in own
