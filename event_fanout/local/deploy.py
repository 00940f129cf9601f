"""``cdk bootstrap`` and ``cdk deploy`` with the real CDK CLI into the emulator, verified.

The template deployed is the CLI's own (no local rewriting). Three things about moto shape the
flow: updates through change sets fail, so a deploy always creates a fresh stack (an existing one
is deleted first); the CLI reports success even when moto dropped resources, so every resource of
the synthesized template, and of each nested stack's template, is checked against the deployed
stack; and moto's own event source mappings would consume (and fail) every message, so they are
disabled once deployed (nested stacks' too) and the local runner
(:mod:`event_fanout.local.runner`) plays them instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from event_fanout.local.server import ACCOUNT_ID

#: The CDK CLI release this package is tested with, fetched by ``npx`` when the project has no
#: ``node_modules/.bin/cdk`` of its own (tests/local checks it against package.json's pin).
CDK_CLI_VERSION = "2.1148.1"
#: Where the tooling keeps its working files, under the project it runs in (the current
#: directory): the emulator's state and log, cloud assemblies, extracted function code, logs.
WORK_DIR_NAME = ".event-fanout"
#: Template types with no deployable resource (CDK's metadata): not expected in the stack.
NOT_DEPLOYED_TYPES = frozenset({"AWS::CDK::Metadata"})
#: A nested stack, as a resource of its parent.
NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"
EVENT_SOURCE_MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"

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
        """The template ``cdk deploy`` deployed (valid after :func:`deploy`)."""
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


def deploy(
    aws_env: Mapping[str, str], app: CdkApp, *, echo: Printer | None = None
) -> list[VerifiedStack]:
    """Deploy ``app`` as a fresh stack, verify it, disable moto's mappings; return the stacks.

    Returns
    -------
    list[VerifiedStack]
        The app's stack and every nested stack under it, the parent first, each verified
        against its template (:func:`verify_stack_tree`).

    """
    session = session_for(aws_env)
    delete_stack(session, app.stack_name, echo=echo)
    args = [
        "deploy",
        app.stack_name,
        "--require-approval",
        "never",
        "--progress",
        "events",
        "--output",
        str(app.out_dir),
    ]
    if app.app:
        args += ["--app", app.app]
    try:
        run_cdk(args, aws_env, workdir=app.workdir, echo=echo)
    except DeployError as error:
        raise DeployError(f"{error}\n{failure_report(session, app.stack_name)}") from error
    stacks = verify_stack_tree(session, app)
    disabled = disable_event_source_mappings(session, app.stack_name)
    if echo is not None:
        nested = f" and its {len(stacks) - 1} nested stack(s)" if len(stacks) > 1 else ""
        echo(
            f"verified {sum(len(s.resources) for s in stacks)} resources of {app.stack_name}"
            f"{nested}; disabled {len(disabled)} emulator event source mapping(s) (the local "
            "runner plays them)"
        )
    return stacks


@dataclass(frozen=True)
class AwsSession:
    """boto3 clients for an environment (``AWS_ENDPOINT_URL`` included, whatever os.environ says).

    The same code serves real AWS: without ``AWS_ENDPOINT_URL`` the clients use the default
    endpoints and the credentials boto3 finds.
    """

    env: Mapping[str, str]

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this environment's endpoint and credentials."""
        session = boto3.Session(
            aws_access_key_id=self.env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=self.env.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=self.env.get("AWS_SESSION_TOKEN"),
            region_name=self.env.get("AWS_DEFAULT_REGION") or self.env.get("AWS_REGION"),
        )
        endpoint = self.env.get("AWS_ENDPOINT_URL")
        return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def session_for(aws_env: Mapping[str, str]) -> AwsSession:
    """Clients on the environment ``aws_env`` describes (see :class:`AwsSession`)."""
    return AwsSession(aws_env)


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
    cloudformation = session.client("cloudformation")
    verified: list[VerifiedStack] = []
    pending = [(app.stack_name, app.template_path)]
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
        echo(f"deleting the existing {stack_name} stack (the emulator cannot update stacks)")
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
