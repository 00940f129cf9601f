"""Deployed stacks as CloudFormation lists them: resources through nested stacks, failures.

Also what the local flow does to a deployed stack: delete it (for a fresh deploy) and
disable moto's own event source mappings (the local runner plays them).
"""

from __future__ import annotations

import time
from typing import Any

from event_fanout.local.cdk_cli import DeployError, Printer
from event_fanout.local.session import AwsSession

#: A nested stack, as a resource of its parent.
NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"
EVENT_SOURCE_MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"


def deployed_resources(cloudformation: Any, stack_name: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource summary of the deployed stack (its nested stacks' not included)."""
    summaries: dict[str, dict[str, Any]] = {}
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            summaries[summary["LogicalResourceId"]] = summary
    return summaries


def deployed_stack_tree(
    cloudformation: Any, stack_name: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """Stack -> its resource summaries, for the stack and every nested stack below it.

    A nested stack is a resource of its parent whose physical id names it (an ARN in AWS, the
    name in moto); ``list_stack_resources`` takes either. Parents come before their children.
    """
    tree: dict[str, dict[str, dict[str, Any]]] = {}
    pending = [stack_name]
    while pending:
        name = pending.pop(0)
        tree[name] = deployed_resources(cloudformation, name)
        pending += [
            str(summary["PhysicalResourceId"])
            for summary in tree[name].values()
            if summary["ResourceType"] == NESTED_STACK_TYPE and summary.get("PhysicalResourceId")
        ]
    return tree


def resources_of_type(
    cloudformation: Any, stack_name: str, resource_type: str
) -> list[dict[str, Any]]:
    """Summaries of every ``resource_type`` resource of the stack and its nested stacks.

    A sharded fan-out keeps most of its consumers in nested stacks: whatever looks for the
    consumers' mappings, queues or functions must look there too.
    """
    return [
        summary
        for resources in deployed_stack_tree(cloudformation, stack_name).values()
        for summary in resources.values()
        if summary["ResourceType"] == resource_type
    ]


def failure_report(session: AwsSession, stack_name: str) -> str:
    """The stack's failed CloudFormation events, one per line ('' if none or no stack)."""
    try:
        events = session.client("cloudformation").describe_stack_events(StackName=stack_name)
    except Exception:  # no stack, or moto cannot describe it: nothing more to add
        return ""
    failed = [
        f"  {event['ResourceStatus']:<16} {event.get('ResourceType', ''):<32} "
        f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', '')}"
        for event in events["StackEvents"]
        if "FAILED" in event.get("ResourceStatus", "")
    ]
    return "failed CloudFormation events:\n" + "\n".join(failed) if failed else ""


def disable_event_source_mappings(session: AwsSession, stack_name: str) -> list[str]:
    """Disable the stack's Lambda event source mappings in the emulator; return their UUIDs.

    Enabled, moto receives each message, cannot run the function (no Docker) and makes the
    message visible again, so receive counts climb and messages reach the DLQ on their own.
    Nested stacks' mappings are disabled too: a sharded fan-out keeps most consumers there.
    """
    lambda_client = session.client("lambda")
    disabled = []
    for summary in resources_of_type(
        session.client("cloudformation"), stack_name, EVENT_SOURCE_MAPPING_TYPE
    ):
        uuid = summary["PhysicalResourceId"]
        lambda_client.update_event_source_mapping(UUID=uuid, Enabled=False)
        disabled.append(uuid)
    return disabled


def delete_stack(
    session: AwsSession, stack_name: str, *, echo: Printer | None = None, timeout: float = 120
) -> bool:
    """Delete the stack if it exists and wait until it is gone; return whether it existed."""
    cloudformation = session.client("cloudformation")
    if not stack_exists(cloudformation, stack_name):
        return False
    if echo is not None:
        echo(f"deleting the existing {stack_name} stack (a fresh deploy was asked for)")
    cloudformation.delete_stack(StackName=stack_name)
    deadline = time.monotonic() + timeout
    while stack_exists(cloudformation, stack_name):
        if time.monotonic() > deadline:
            raise DeployError(f"{stack_name} was not deleted within {timeout:.0f} s")
        time.sleep(0.5)
    return True


def stack_exists(cloudformation: Any, stack_name: str) -> bool:
    """Whether a stack of that name exists and is not deleted."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError:
        return False
    return any(stack["StackStatus"] != "DELETE_COMPLETE" for stack in stacks)
