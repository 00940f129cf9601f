"""The user's CDK app as the local tooling sees it: its working directory, stacks and fan-outs.

Everything is relative to the app's directory (where its ``cdk.json`` is): the emulator's state
and log, the cloud assembly of the last ``local deploy`` and the consumers' code and logs live
under ``.event-fanout/`` there, so two apps on one machine never share state.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from event_fanout.local.assembly import AssemblyStack, assembly_stacks
from event_fanout.local.cdk_cli import WORK_DIR_NAME, DeployError
from event_fanout.local.runner import DeployedMapping, discover_mappings
from event_fanout.local.session import AwsSession
from event_fanout.local.verification import VerifiedStack

#: A consumer's rule, by construct path: ``<fan-out>/Consumers[ShardN]/<consumer>/Rule``.
_CONSUMER_RULE = re.compile(r"^(?P<fanout>.+)/Consumers(?:Shard\d+)?/(?P<consumer>[^/]+)/Rule/")


class EmulatorUnavailableError(RuntimeError):
    """The emulator stopped answering (it was stopped, or it died)."""


@dataclass(frozen=True)
class Project:
    """A CDK app directory and the tooling's working files in it."""

    root: Path

    @classmethod
    def here(cls) -> Project:
        """The app in the current directory."""
        return cls(Path.cwd())

    @property
    def work_dir(self) -> Path:
        """``.event-fanout/`` in the app's directory."""
        return self.root / WORK_DIR_NAME

    @property
    def assembly_dir(self) -> Path:
        """The cloud assembly of the last ``local deploy``."""
        return self.work_dir / "cdk.out"

    @property
    def state_file(self) -> Path:
        """Where ``local up`` records the background emulator (port, pid)."""
        return self.work_dir / "server.json"

    def deployed_stacks(self) -> list[AssemblyStack]:
        """The stacks of the last ``local deploy`` (raises if there was none)."""
        if not (self.assembly_dir / "manifest.json").exists():
            raise DeployError(
                f"nothing deployed from {self.root} yet: run `event-fanout local deploy` first"
            )
        return assembly_stacks(self.assembly_dir)

    def mappings(self, session: AwsSession) -> list[DeployedMapping]:
        """Every SQS event source mapping of the deployed stacks, nested stacks' included."""
        found: list[DeployedMapping] = []
        for stack in self.deployed_stacks():
            found += discover_mappings(session, stack.stack_name, self.work_dir / "functions")
        return found


# -- the background emulator ---------------------------------------------------------------------


def recorded_emulator(project: Project) -> dict[str, Any] | None:
    """The emulator ``local up`` recorded, if it still runs; a stale record is removed.

    A pid is trusted only if that process is this package's emulator (its command line runs
    ``event_fanout.local.server``): a recycled pid belongs to someone else.
    """
    if not project.state_file.exists():
        return None
    state: dict[str, Any] = json.loads(project.state_file.read_text())
    if is_emulator_process(int(state.get("pid", 0))):
        return state
    project.state_file.unlink()
    return None


def is_emulator_process(pid: int) -> bool:
    """Whether ``pid`` is a running ``python -m event_fanout.local.server`` process."""
    if pid <= 0:
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return False  # alive, but its command line cannot be read: do not claim it
    return b"event_fanout.local.server" in command


# -- what was deployed -----------------------------------------------------------------------------


@dataclass
class DeployedFanout:
    """One fan-out of the deployed app: its consumers and the resources under it."""

    path: str
    consumers: list[str] = field(default_factory=list)
    queues: int = 0
    rules: int = 0
    stacks: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class DeployedSummary:
    """What ``local deploy`` deployed: the fan-outs, and the functions of all stacks."""

    fanouts: list[DeployedFanout]
    functions: int


def deployed_summary(stacks: list[VerifiedStack]) -> DeployedSummary:
    """The fan-outs in the verified stacks and their functions, from one read of each template.

    A fan-out is found by its consumers' rules' construct paths.
    """
    fanouts: dict[str, DeployedFanout] = {}
    resources: list[tuple[str, str, str]] = []
    for stack in stacks:
        template: dict[str, Any] = json.loads(stack.template_path.read_text())
        for resource in template.get("Resources", {}).values():
            path = resource.get("Metadata", {}).get("aws:cdk:path", "")
            resources.append((stack.stack_name, resource["Type"], path))
            match = _CONSUMER_RULE.match(path)
            if resource["Type"] == "AWS::Events::Rule" and match:
                fanout = fanouts.setdefault(match["fanout"], DeployedFanout(match["fanout"]))
                fanout.consumers.append(match["consumer"])
                fanout.rules += 1
                fanout.stacks.add(stack.stack_name)
    for stack_name, kind, path in resources:
        for fanout in fanouts.values():
            if kind == "AWS::SQS::Queue" and path.startswith(fanout.path + "/"):
                fanout.queues += 1
                fanout.stacks.add(stack_name)
    functions = sum(1 for _, kind, _ in resources if kind == "AWS::Lambda::Function")
    return DeployedSummary(sorted(fanouts.values(), key=lambda f: f.path), functions)


@contextmanager
def emulator_calls(endpoint: str) -> Iterator[None]:
    """Turn a refused connection to the emulator into one :class:`EmulatorUnavailableError`.

    botocore retries, then raises a long chain of connection errors; the user needs one line.
    """
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

    try:
        yield
    except (EndpointConnectionError, ConnectionClosedError, ConnectionRefusedError) as error:
        raise EmulatorUnavailableError(
            f"the local emulator at {endpoint} stopped answering ({type(error).__name__}): "
            "start it again with `event-fanout local up`, then `event-fanout local deploy`"
        ) from error
