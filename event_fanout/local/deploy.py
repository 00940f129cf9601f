"""``cdk deploy`` with the real CDK CLI into the emulator, verified.

The template deployed is the CLI's own (no local rewriting). Three things about moto shape the
flow: a stack is updated with ``UpdateStack`` (``--method direct``: moto's change sets cannot
update a stack), so a second deploy keeps the queues, their messages and the idempotency
records of every consumer the change leaves alone; the CLI reports success even when moto
dropped resources, so every resource of the synthesized template, and of each nested stack's
template, is checked against the deployed stack; and moto's own event source mappings would
consume (and fail) every message, so they are disabled once deployed (nested stacks' too) and
the local runner (:mod:`event_fanout.local.runner`) plays them instead.

:func:`deploy_project` deploys any CDK app (the stacks its cloud assembly lists);
:func:`deploy` one stack of a known app (the reference stack, test apps). The steps live in
their own modules: running the CLI (and ``cdk bootstrap``) in :mod:`.cdk_cli`, the app's stacks
in :mod:`.assembly`, the check against the templates in :mod:`.verification`, deleting a stack
and disabling its mappings in :mod:`.deployed_stacks`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from event_fanout.local.assembly import AssemblyStack, assembly_stacks, select_stacks
from event_fanout.local.cdk_cli import (
    WORK_DIR_NAME,
    CdkApp,
    DeployError,
    Printer,
    bootstrap,
    run_cdk,
)
from event_fanout.local.deployed_stacks import (
    delete_stack,
    disable_event_source_mappings,
    failure_report,
    stack_exists,
)
from event_fanout.local.session import AwsSession, session_for
from event_fanout.local.verification import VerifiedStack, verify_tree

#: ``cdk deploy`` arguments for the emulator: no prompts, plain progress, and ``UpdateStack``
#: for a stack that exists (moto cannot execute an update change set).
DEPLOY_OPTIONS = ("--require-approval", "never", "--progress", "events", "--method", "direct")
#: The stack ``cdk bootstrap`` creates.
BOOTSTRAP_STACK = "CDKToolkit"


def deploy(
    aws_env: Mapping[str, str], app: CdkApp, *, fresh: bool = False, echo: Printer | None = None
) -> list[VerifiedStack]:
    """Deploy ``app``'s stack (an update if it exists), verify it, disable moto's mappings.

    ``fresh=True`` deletes an existing stack first (queued messages and records are lost): for
    a run that must start from empty queues, and said in the output.

    Returns
    -------
    list[VerifiedStack]
        The app's stack and every nested stack under it, the parent first, each verified
        against its template (:func:`.verification.verify_stack_tree`).

    """
    session = session_for(aws_env)
    if fresh:
        delete_stack(session, app.stack_name, echo=echo)
    args = ["deploy", app.stack_name, *DEPLOY_OPTIONS, "--output", str(app.out_dir)]
    if app.app:
        args += ["--app", app.app]
    try:
        run_cdk(args, aws_env, workdir=app.workdir, echo=echo)
    except DeployError as error:
        raise DeployError(f"{error}\n{failure_report(session, app.stack_name)}") from error
    return _verified(session, [(app.stack_name, app.template_path)], echo=echo)


def deploy_project(
    aws_env: Mapping[str, str],
    workdir: Path,
    stacks: Sequence[str] = (),
    *,
    echo: Printer | None = None,
) -> list[VerifiedStack]:
    """Deploy the app in ``workdir`` (its ``cdk.json``) with ``cdk deploy``, then verify it.

    ``stacks``: display or stack names (default: every stack of the app). Bootstraps the
    emulator first if it is not. Each stack is updated in place when it exists.
    """
    if not (workdir / "cdk.json").exists():
        raise DeployError(f"no cdk.json in {workdir}: run this from the directory of your CDK app")
    out_dir = workdir / WORK_DIR_NAME / "cdk.out"
    session = session_for(aws_env)
    if not stack_exists(session.client("cloudformation"), BOOTSTRAP_STACK):
        bootstrap(aws_env, CdkApp(stack_name=BOOTSTRAP_STACK, workdir=workdir), echo=echo)
    # One CLI run synthesizes and deploys; the assembly it leaves says which stacks those were.
    args = ["deploy", *(stacks or ["--all"]), *DEPLOY_OPTIONS, "--output", str(out_dir)]
    try:
        run_cdk(args, aws_env, workdir=workdir, echo=echo)
    except DeployError as error:
        known = assembly_stacks(out_dir) if (out_dir / "manifest.json").exists() else []
        reports = "\n".join(filter(None, (failure_report(session, s.stack_name) for s in known)))
        raise DeployError(f"{error}\n{reports}".rstrip()) from error
    chosen = select_stacks(assembly_stacks(out_dir), tuple(stacks))
    if not chosen:
        raise DeployError(f"the app in {workdir} has no stacks")
    return _verified(session, [_named(s) for s in chosen], echo=echo)


def _named(stack: AssemblyStack) -> tuple[str, Path]:
    return stack.stack_name, stack.template_path


def _verified(
    session: AwsSession, stacks: list[tuple[str, Path]], *, echo: Printer | None
) -> list[VerifiedStack]:
    """Verify each deployed stack against its template, then disable moto's mappings."""
    verified: list[VerifiedStack] = []
    for stack_name, template_path in stacks:
        tree = verify_tree(session, stack_name, template_path)
        disabled = disable_event_source_mappings(session, stack_name)
        verified += tree
        if echo is not None:
            nested = f" and its {len(tree) - 1} nested stack(s)" if len(tree) > 1 else ""
            echo(
                f"verified {sum(len(s.resources) for s in tree)} resources of {stack_name}"
                f"{nested}; disabled {len(disabled)} emulator event source mapping(s) (the "
                "local runner plays them)"
            )
    return verified
