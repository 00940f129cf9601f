"""The built wheel, installed into a fresh virtualenv with the minimum aws-cdk-lib, in an app
outside the repository: ``cdk synth`` with the pinned CLI, the templates snapshot-tested with
the shipped normalizer, and the console script of a base install.

What a platform team does on adoption day. One wheel and one virtualenv per test session; the
virtualenv installs from ``.wheelhouse/`` (filled by scripts/setup.sh) when it is there, so the
test needs no network.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from event_fanout.command import INSTALL_HINT
from event_fanout.local.cdk_cli import cdk_executable
from event_fanout.testing.snapshot import NormalizedTemplateExtension
from tests.builders import REPO_ROOT

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "outside_app"
WHEELHOUSE = REPO_ROOT / ".wheelhouse"


def minimum_aws_cdk_lib() -> str:
    """The lower bound of aws-cdk-lib that pyproject.toml declares (what CI tests against)."""
    spec = importlib.util.spec_from_file_location(
        "minimum_requirements", REPO_ROOT / "scripts" / "minimum_requirements.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (pinned,) = [r for r in module.requirements() if r.startswith("aws-cdk-lib==")]
    return str(pinned.removeprefix("aws-cdk-lib=="))


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel (not editable) and the minimum aws-cdk-lib."""
    work = tmp_path_factory.mktemp("wheel")
    built = _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(REPO_ROOT)]
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (work / "dist").glob("cdk_event_fanout-*.whl")
    venv = work / "venv"
    # No pip of its own (ensurepip is most of a venv's creation time): this pip installs into it.
    created = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert created.returncode == 0, created.stderr
    offline = ["--no-index", "--find-links", str(WHEELHOUSE)] if WHEELHOUSE.is_dir() else []
    install = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-compile",  # byte-compiling aws-cdk-lib's modules is 20 s; imports compile lazily
            *offline,
            str(wheel),
            f"aws-cdk-lib=={minimum_aws_cdk_lib()}",
        ]
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return venv


@pytest.fixture(scope="session")
def synthesized(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``cdk synth`` of the outside app, run by the pinned CLI with the fresh virtualenv."""
    project = tmp_path_factory.mktemp("outside") / "shop"
    shutil.copytree(APP, project)
    python = installed / "bin" / "python"
    (project / "cdk.json").write_text(json.dumps({"app": f"{python} app.py"}))
    env = {
        **os.environ,
        "PATH": f"{installed / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }
    env.pop("PYTHONPATH", None)
    synth = _run(
        [*cdk_executable(REPO_ROOT), "synth", "--quiet", "--output", "cdk.out"],
        cwd=project,
        env=env,
    )
    assert synth.returncode == 0, synth.stdout + synth.stderr
    return project / "cdk.out"


def test_the_wheel_installs_next_to_the_minimum_aws_cdk_lib(installed: Path) -> None:
    from event_fanout import __version__ as package_version

    versions = _run(
        [
            str(installed / "bin" / "python"),
            "-c",
            # Metadata only: importing aws_cdk here would compile its modules a second time.
            "import event_fanout, importlib.metadata as m;"
            "print(m.version('aws-cdk-lib'), event_fanout.__version__, event_fanout.__file__)",
        ],
        cwd=installed,  # not this checkout, whose package would shadow the installed one
    )
    cdk_version, version, location = versions.stdout.split()
    assert cdk_version == minimum_aws_cdk_lib()
    assert version == package_version
    assert location.startswith(str(installed))


@pytest.mark.parametrize("stack", ["Orders", "Billing"])
def test_an_app_outside_the_repository_synthesizes_and_snapshots_stably(
    synthesized: Path, stack: str, snapshot: SnapshotAssertion
) -> None:
    template = json.loads((synthesized / f"{stack}.template.json").read_text())
    assert template == snapshot(extension_class=NormalizedTemplateExtension)


def test_synth_leaves_nothing_in_the_packages_directory(installed: Path, synthesized: Path) -> None:
    site = next((installed / "lib").glob("python3*/site-packages")) / "event_fanout"
    created = [p.name for p in site.iterdir() if p.name.startswith((".", "cdk.out"))]
    assert created == []


def test_a_base_install_names_the_extra_the_command_needs(installed: Path) -> None:
    result = _run([str(installed / "bin" / "event-fanout"), "--help"], cwd=installed)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("event-fanout: the command needs the 'local' extra (click")
    assert line.endswith(INSTALL_HINT)
