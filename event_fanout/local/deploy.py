"""``cdk deploy`` with the real CDK CLI into the emulator, verified.

The template deployed is the CLI's own (no local rewriting). Three things about moto shape the
flow: updates through change sets fail, so a deploy always creates a fresh stack (an existing one
is deleted first); the CLI reports success even when moto dropped resources, so every resource of
the synthesized template, and of each nested stack's template, is checked against the deployed
stack; and moto's own event source mappings would consume (and fail) every message, so they are
disabled once deployed (nested stacks' too) and the local runner
(:mod:`event_fanout.local.runner`) plays them instead.

The steps live in their own modules: running the CLI (and ``cdk bootstrap``) in
:mod:`event_fanout.local.cdk_cli`, the check against the templates in
:mod:`event_fanout.local.verification`, deleting a stack and disabling its mappings in
:mod:`event_fanout.local.deployed_stacks`.
"""

from __future__ import annotations

from collections.abc import Mapping

from event_fanout.local.cdk_cli import CdkApp, DeployError, Printer, run_cdk
from event_fanout.local.deployed_stacks import (
    delete_stack,
    disable_event_source_mappings,
    failure_report,
)
from event_fanout.local.session import session_for
from event_fanout.local.verification import VerifiedStack, verify_stack_tree


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
