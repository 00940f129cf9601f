"""The tooling works from any project directory: its own CDK CLI, its own working files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from event_fanout.app_factory import REFERENCE_CONTEXT
from event_fanout.command import INSTALL_HINT
from event_fanout.local.cdk_cli import CDK_CLI_VERSION, CdkApp, DeployError, cdk_executable
from tests.builders import REPO_ROOT


def test_the_projects_own_cdk_cli_is_used_from_any_subdirectory(tmp_path: Path) -> None:
    cli = tmp_path / "node_modules" / ".bin" / "cdk"
    cli.parent.mkdir(parents=True)
    cli.write_text("#!/bin/sh\n")
    nested = tmp_path / "infra" / "stacks"
    nested.mkdir(parents=True)
    assert cdk_executable(nested) == [str(cli)]


def test_without_a_project_cli_npx_fetches_the_tested_version(tmp_path: Path) -> None:
    command = cdk_executable(tmp_path)
    assert command[1:] == ["--yes", f"aws-cdk@{CDK_CLI_VERSION}"]
    assert Path(command[0]).name == "npx"


def test_without_node_the_error_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        DeployError, match=r"install Node 20\+, then `npm install --save-dev aws-cdk@"
    ):
        cdk_executable(tmp_path)


def test_the_tested_cli_version_is_the_one_package_json_pins() -> None:
    pinned = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert pinned == CDK_CLI_VERSION


def test_working_files_go_under_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = CdkApp(stack_name="Orders")
    assert app.out_dir == tmp_path / ".event-fanout" / "cdk.out"
    assert app.workdir == tmp_path


def test_the_reference_app_sets_the_flags_cdk_json_lists() -> None:
    """Run from an installed package (no cdk.json), it synthesizes what `npx cdk` does here."""
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    assert context == REFERENCE_CONTEXT


def test_the_command_names_the_extra_it_needs_when_it_is_missing(tmp_path: Path) -> None:
    """A base install has no click: one line, the install command, exit 2, no traceback."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'click':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, _Block())\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO_ROOT}"}
    result = subprocess.run(
        [sys.executable, "-c", "from event_fanout.command import main; main()", "--help"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"event-fanout: the command needs the 'local' extra (click not installed): {INSTALL_HINT}"
    ]
