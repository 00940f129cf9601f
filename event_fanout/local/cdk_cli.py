"""The CDK CLI, run as a subprocess: which one, in what environment, and ``cdk bootstrap``.

:class:`CdkApp` names what to deploy and where the cloud assembly goes; :func:`run_cdk` runs
the project's own CLI (or ``npx`` at the tested version), echoes its output without Node's
end-of-life banners, and raises :class:`DeployError` when it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from event_fanout.local.server import ACCOUNT_ID

#: The CDK CLI release this package is tested with, fetched by ``npx`` when the project has no
#: ``node_modules/.bin/cdk`` of its own (tests/local checks it against package.json's pin).
CDK_CLI_VERSION = "2.1148.1"
#: Where the tooling keeps its working files, under the project it runs in (the current
#: directory): the emulator's state and log, cloud assemblies, extracted function code, logs.
WORK_DIR_NAME = ".event-fanout"

Printer = Callable[[str], None]


class DeployError(RuntimeError):
    """The CDK CLI is missing, a CLI command failed, or the deployed stack is incomplete."""


@dataclass(frozen=True)
class CdkApp:
    """What to deploy: a CDK app (``--app``; ``None`` = cdk.json's) and one of its stacks.

    ``app`` may also be a synthesized cloud assembly directory (the CLI deploys it as it is).
    """

    stack_name: str
    app: str | None = None
    workdir: Path = field(default_factory=Path.cwd)
    output_dir: Path | None = None

    @property
    def out_dir(self) -> Path:
        """Where ``cdk deploy`` writes the cloud assembly (default: ``.event-fanout/cdk.out``)."""
        return self.output_dir or self.workdir / WORK_DIR_NAME / "cdk.out"

    @property
    def assembly_dir(self) -> Path:
        """Where the cloud assembly is: ``app`` itself when it names one (already synthesized)."""
        if self.app is not None and Path(self.app).is_dir():
            return Path(self.app)
        return self.out_dir

    @property
    def template_path(self) -> Path:
        """The template ``cdk deploy`` deployed (valid after :func:`.deploy.deploy`)."""
        return self.assembly_dir / f"{self.stack_name}.template.json"


def cdk_executable(workdir: Path | None = None) -> list[str]:
    """The project's own CDK CLI (``node_modules/.bin/cdk``), else ``npx`` at the tested version.

    ``workdir`` (default: the current directory) and its parents are searched, as npm does.
    Raises :class:`DeployError` when there is neither (no Node.js).
    """
    start = (workdir or Path.cwd()).resolve()
    for directory in (start, *start.parents):
        local = directory / "node_modules" / ".bin" / "cdk"
        if local.exists():
            return [str(local)]
    npx = shutil.which("npx")
    if npx is None:
        raise DeployError(
            f"no CDK CLI in {start}/node_modules and no Node.js (`npx` on PATH): install "
            f"Node 20+, then `npm install --save-dev aws-cdk@{CDK_CLI_VERSION}` in the project"
        )
    return [npx, "--yes", f"aws-cdk@{CDK_CLI_VERSION}"]


def cli_environment(aws_env: Mapping[str, str]) -> dict[str, str]:
    """The environment for CLI runs: the emulator's, with this Python first on PATH.

    cdk.json runs ``python3 app.py``; putting the running interpreter's directory first makes
    that the project's virtualenv, whatever the shell's PATH says.
    """
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, **aws_env, "PATH": path, "FORCE_COLOR": "0"}


def run_cdk(
    args: Sequence[str],
    aws_env: Mapping[str, str],
    *,
    workdir: Path | None = None,
    cwd: Path | None = None,
    echo: Printer | None = None,
) -> list[str]:
    """Run the CDK CLI of ``workdir``, in ``cwd`` (default: ``workdir``), echoing its output.

    Raises :class:`DeployError` with the last lines of output when the CLI exits non-zero.
    """
    command = [*cdk_executable(workdir), *args]
    process = subprocess.Popen(
        command,
        cwd=cwd or workdir or Path.cwd(),
        env=cli_environment(aws_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    for raw in process.stdout:
        line = raw.rstrip("\n")
        if _is_noise(line):
            continue
        lines.append(line)
        if echo is not None:
            echo(line)
    code = process.wait()
    if code != 0:
        tail = "\n".join(lines[-15:])
        raise DeployError(f"`cdk {' '.join(args[:2])}` failed (exit {code}):\n{tail}")
    return lines


_NOISE = (
    "npm warn",
    "NodeVersionSupportWarning",
    "versions published after",
    "will require node",
    "To continue receiving updates",
    "and security updates please",
    "More information can be found at: https://a.co",
    "(Use `node --trace-warnings",
)


def _is_noise(line: str) -> bool:
    """Node's end-of-life banners: not the user's business during a local demo."""
    return not line.strip() or any(marker in line for marker in _NOISE)


def bootstrap(aws_env: Mapping[str, str], app: CdkApp, *, echo: Printer | None = None) -> None:
    """``cdk bootstrap`` the emulator's account and region (assets bucket, roles, version).

    Run outside the project, so the CLI finds no ``cdk.json``: the environment is explicit, and
    with an app configured the CLI would synthesize it first only to learn nothing new.
    """
    region = aws_env["AWS_DEFAULT_REGION"]
    args = ["bootstrap", f"aws://{ACCOUNT_ID}/{region}"]
    with tempfile.TemporaryDirectory(prefix="event-fanout-bootstrap-") as empty:
        run_cdk(args, aws_env, workdir=app.workdir, cwd=Path(empty), echo=echo)
