"""The stacks of a synthesized CDK app, read from its cloud assembly (``manifest.json``).

Any app works: the local tooling asks the assembly which stacks there are instead of knowing
the reference stack's name. Stages are followed (their stacks are in a nested assembly); nested
stacks are not listed here (they are resources of their parent and deploy with it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from event_fanout.local.cdk_cli import DeployError

STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_ASSEMBLY_ARTIFACT = "cdk:cloud-assembly"


@dataclass(frozen=True)
class AssemblyStack:
    """One deployable stack of the app."""

    #: What ``cdk deploy`` takes (the artifact's display name, e.g. ``Stage/Orders``).
    display_name: str
    #: The CloudFormation stack name it deploys as.
    stack_name: str
    template_path: Path


def assembly_stacks(assembly_dir: Path) -> list[AssemblyStack]:
    """Every stack of the assembly (stages' included), in the manifest's order."""
    manifest_path = assembly_dir / "manifest.json"
    if not manifest_path.exists():
        raise DeployError(f"{assembly_dir} is not a cloud assembly (no manifest.json)")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    stacks: list[AssemblyStack] = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == STACK_ARTIFACT:
            stacks.append(
                AssemblyStack(
                    display_name=artifact.get("displayName", artifact_id),
                    stack_name=properties.get("stackName", artifact_id),
                    template_path=assembly_dir / properties["templateFile"],
                )
            )
        elif artifact.get("type") == NESTED_ASSEMBLY_ARTIFACT:
            stacks += assembly_stacks(assembly_dir / properties["directoryName"])
    return stacks


def select_stacks(stacks: list[AssemblyStack], names: tuple[str, ...]) -> list[AssemblyStack]:
    """The stacks ``names`` asks for (display or stack names), every stack when none.

    Raises :class:`DeployError` naming the app's stacks when a name matches none.
    """
    if not names:
        return stacks
    unknown = [
        name for name in names if not any(name in (s.display_name, s.stack_name) for s in stacks)
    ]
    if unknown:
        available = ", ".join(s.display_name for s in stacks) or "none"
        raise DeployError(f"no stack named {', '.join(unknown)} in this app (it has: {available})")
    return [s for s in stacks if s.display_name in names or s.stack_name in names]
