"""``event-fanout local`` in an app directory: a record it can trust, one line when it fails."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from event_fanout.cli import main
from event_fanout.local.project import is_emulator_process


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "cdk.json").write_text('{"app": "python3 app.py"}')
    (tmp_path / ".event-fanout").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def silent_emulator() -> Iterator[subprocess.Popen[bytes]]:
    """A process that looks like the emulator (its command line) but answers nothing."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "event_fanout.local.server"]
    )
    deadline = time.monotonic() + 10
    while not is_emulator_process(process.pid):  # until the child has exec'd
        assert time.monotonic() < deadline
        time.sleep(0.01)
    yield process
    process.kill()
    process.wait()


def test_a_record_of_another_process_is_stale_and_never_signalled(app_dir: Path) -> None:
    record = app_dir / ".event-fanout" / "server.json"
    record.write_text(json.dumps({"port": 4566, "pid": os.getpid()}))  # this test's own pid
    result = CliRunner().invoke(main, ["local", "down"])
    assert result.exit_code == 1
    assert "no local emulator is running here" in result.output
    assert not record.exists()  # and this process is still alive to check it


def test_an_emulator_that_stopped_answering_is_one_line(
    app_dir: Path, silent_emulator: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    (app_dir / ".event-fanout" / "server.json").write_text(
        json.dumps({"port": _free_port(), "pid": silent_emulator.pid})
    )
    assembly = app_dir / ".event-fanout" / "cdk.out"  # what an earlier `local deploy` left
    assembly.mkdir()
    (assembly / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "Orders": {
                        "type": "aws:cloudformation:stack",
                        "properties": {"templateFile": "Orders.template.json"},
                    }
                }
            }
        )
    )
    environ = dict(os.environ)
    for command in (["local", "deploy"], ["local", "run"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) <= 2 and "stopped answering" in result.output, result.output
        assert "Traceback" not in result.output
        # The emulator's endpoint does not stay behind (it would redirect later boto3 calls).
        assert dict(os.environ) == environ, command


def test_deploy_outside_a_cdk_app_names_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, silent_emulator: subprocess.Popen[bytes]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".event-fanout").mkdir()
    (tmp_path / ".event-fanout" / "server.json").write_text(
        json.dumps({"port": _free_port(), "pid": silent_emulator.pid})
    )
    result = CliRunner().invoke(main, ["local", "deploy"])
    assert result.exit_code == 1
    assert f"no cdk.json in {tmp_path}" in result.output


def test_the_command_starts_without_the_cdk() -> None:
    # `event-fanout status`, `dlq`, `redrive`, ... read deployed stacks: loading aws_cdk (and
    # starting its Node.js process) would add seconds to every call.
    result = subprocess.run(
        [sys.executable, "-c", "import sys, event_fanout.cli; print('aws_cdk' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
