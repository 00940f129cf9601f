"""Checking a deployed stack against its template, nested stacks included.

The CDK CLI reports success even when moto dropped resources, so every resource of the
synthesized template, and of each nested stack's template, is checked against the deployed
stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from event_fanout.local.cdk_cli import CdkApp, DeployError
from event_fanout.local.deployed_stacks import NESTED_STACK_TYPE, deployed_resources, failure_report
from event_fanout.local.session import AwsSession

#: Template types with no deployable resource (CDK's metadata): not expected in the stack.
NOT_DEPLOYED_TYPES = frozenset({"AWS::CDK::Metadata"})


def expected_resources(template_path: Path) -> dict[str, str]:
    """Logical id -> type of every resource the template creates (conditions aside)."""
    template: dict[str, Any] = json.loads(template_path.read_text())
    return {
        logical_id: resource["Type"]
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] not in NOT_DEPLOYED_TYPES and "Condition" not in resource
    }


def nested_templates(template_path: Path) -> dict[str, Path]:
    """Logical id -> template file of each nested stack the template creates.

    The CDK CLI uploads a nested stack's template as a file asset; its resource records the
    file in ``aws:asset:path`` metadata, next to the parent's template in the cloud assembly.
    """
    template: dict[str, Any] = json.loads(template_path.read_text())
    return {
        logical_id: template_path.parent / resource["Metadata"]["aws:asset:path"]
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] == NESTED_STACK_TYPE
        and "aws:asset:path" in resource.get("Metadata", {})
    }


@dataclass(frozen=True)
class VerifiedStack:
    """A deployed stack (the app's or a nested one) whose template resources all exist."""

    stack_name: str
    template_path: Path
    #: Logical id -> physical id of every deployed resource of this stack.
    resources: dict[str, str]
    #: Resources in the template (``AWS::CDK::Metadata`` included): what the 500 limit counts.
    template_resources: int


def verify_deployed(session: AwsSession, app: CdkApp) -> dict[str, str]:
    """Raise :class:`DeployError` naming every template resource missing from the stack.

    The CLI prints success whenever the stack reaches a COMPLETE status, which moto reports
    even when it skipped or failed resources. Nested stacks are checked against their own
    templates too (see :func:`verify_stack_tree`). Returns the app stack's resources.
    """
    return verify_stack_tree(session, app)[0].resources


def verify_stack_tree(session: AwsSession, app: CdkApp) -> list[VerifiedStack]:
    """Verify the app's stack and, recursively, each nested stack; parent first.

    A nested stack that moto reports COMPLETE may still lack resources, like any stack, so
    each nested template is compared with the deployed nested stack it names.
    """
    return verify_tree(session, app.stack_name, app.template_path)


def verify_tree(session: AwsSession, stack_name: str, template_path: Path) -> list[VerifiedStack]:
    """:func:`verify_stack_tree` of a stack named by its name and its template's path."""
    cloudformation = session.client("cloudformation")
    verified: list[VerifiedStack] = []
    pending = [(stack_name, template_path)]
    while pending:
        stack_name, template_path = pending.pop(0)
        stack = _verify_stack(session, cloudformation, stack_name, template_path)
        verified.append(stack)
        pending += [
            (stack.resources[logical_id], nested_path)
            for logical_id, nested_path in nested_templates(template_path).items()
            if logical_id in stack.resources  # not there: its condition was false
        ]
    return verified


def _verify_stack(
    session: AwsSession, cloudformation: Any, stack_name: str, template_path: Path
) -> VerifiedStack:
    """Compare one deployed stack with its template; raise :class:`DeployError` on a gap."""
    expected = expected_resources(template_path)
    try:
        deployed = deployed_resources(cloudformation, stack_name)
    except Exception as error:  # moto re-raises a resource's creation error here
        raise DeployError(
            f"the deployed stack {stack_name} cannot be listed: {error}\n"
            f"{failure_report(session, stack_name)}"
        ) from error
    missing = {
        logical_id: kind
        for logical_id, kind in expected.items()
        if logical_id not in deployed
        or not deployed[logical_id].get("ResourceStatus", "").endswith("COMPLETE")
    }
    if missing:
        listing = "\n".join(f"  {kind:<36} {logical_id}" for logical_id, kind in missing.items())
        raise DeployError(
            f"{stack_name}: the CLI reported success but {len(missing)} of {len(expected)} "
            f"resources were not deployed:\n{listing}\n{failure_report(session, stack_name)}"
        )
    template: dict[str, Any] = json.loads(template_path.read_text())
    return VerifiedStack(
        stack_name=stack_name,
        template_path=template_path,
        resources={
            logical_id: str(summary.get("PhysicalResourceId", ""))
            for logical_id, summary in deployed.items()
        },
        template_resources=len(template.get("Resources", {})),
    )
