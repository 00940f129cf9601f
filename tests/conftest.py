"""Shared builders: a fresh app/stack per test module, a tiny real function, template helpers."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Before aws_cdk starts its jsii kernel: keep Node's end-of-life banner out of test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")

from aws_cdk import App, DefaultStackSynthesizer, Duration, Environment, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from event_fanout.app_factory import STACK_ID, build_app
from event_fanout.stacks.campaign_budget_stack import CampaignBudgetStack

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV = Environment(account="123456789012", region="eu-west-1")


#: Test modules that share a session fixture across folders: one worker per group.
SHARED_FIXTURE_GROUPS = {
    "tests/local/test_e2e.py": "reference-deploy",
    "tests/local/test_fault_run.py": "reference-deploy",
    # Both read the synthesized reference stack (``reference_synth``).
    "tests/stack/test_reference_stack.py": "reference-synth",
    "tests/security/test_security_checks.py": "reference-synth",
}


def fixture_group(nodeid: str) -> str:
    """The pytest-xdist work unit of a test: its directory, or its shared-fixture group.

    A worker builds every session or module fixture its tests use, so tests that share one
    (tests/library share one synthesized stack, tests/local an emulator) stay on one worker.
    tests/local is two units, the reference deploy with the fault run and the CLI and
    compatibility deploys, so its two long halves run side by side, each with its own emulator.
    """
    path = nodeid.split("::", 1)[0]
    return SHARED_FIXTURE_GROUPS.get(path, path.rpartition("/")[0])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Distribute by :func:`fixture_group`, in collection order (emulator tests first).

    Not ``--dist loadgroup``: with pytest 9.2 it ignores ``xdist_group`` marks
    (pytest-dev/pytest-xdist#1386, node ids are no longer mutable).
    """
    from xdist.scheduler import LoadScopeScheduling

    class FixtureGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return fixture_group(nodeid)

    config.option.loadscopereorder = False  # keep the long emulator groups first
    return FixtureGroupScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def shared_botocore_loader() -> Iterator[None]:
    """Every boto3 session of a test run reads the AWS service models once, not once each.

    moto's ``mock_aws`` drops boto3's default session, Powertools and the local runner create
    sessions of their own, and each new session parsed the same service JSON again (~0.15 s a
    client, most of a runtime test). The loader only reads files that do not change during a
    run; clients, credentials and endpoints stay per session.
    """
    import botocore.session

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            botocore.session,
            "create_loader",
            functools.lru_cache(maxsize=None)(botocore.session.create_loader),
        )
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Emulator tests first, and within them the ``slow`` ones first.

    Started last, a long group would leave the other worker idle. And a worker with two tests
    or fewer left in its group is handed the next group, which then waits behind whatever long
    test it is running: a group's longest test goes first.
    """
    items.sort(
        key=lambda item: (
            item.get_closest_marker("e2e") is None,
            item.get_closest_marker("slow") is None,
        )
    )


def cdk_context() -> dict[str, Any]:
    """The feature flags of cdk.json, so tests synthesize what `cdk synth` does."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


def new_app(**kwargs: Any) -> App:
    """An app with cdk.json's feature flags, without CDK's built-in template validation.

    The validation (a Node.js engine run after every synth: ~3 s to start, ~0.6 s a template)
    is a third of the unit tests' time and checks nothing they assert. The templates users
    deploy still meet it: the end-to-end tests run ``cdk deploy`` of app.py with it on, and
    cfn-lint runs on the reference, maximal, composed and sharded templates here.
    """
    return App(context=cdk_context(), builtin_cloud_formation_validation=False, **kwargs)


def new_stack(name: str = "Test") -> Stack:
    """A stack in a fixed account/region with no bootstrap-version rule (stable templates)."""
    app = new_app()
    return Stack(
        app,
        name,
        env=ENV,
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )


def new_function(
    scope: Construct,
    construct_id: str = "Handler",
    *,
    timeout: Duration | None = Duration.seconds(30),
    runtime: lambda_.Runtime = lambda_.Runtime.PYTHON_3_14,
    architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
) -> lambda_.Function:
    """A real (inline) function: the constructs read its timeout, runtime and architecture."""
    return lambda_.Function(
        scope,
        construct_id,
        runtime=runtime,
        architecture=architecture,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        timeout=timeout,
    )


def only(resources: dict[str, Any]) -> dict[str, Any]:
    """The properties of the single resource in a ``Template.find_resources`` result."""
    assert len(resources) == 1, f"expected exactly one resource, found {list(resources)}"
    (resource,) = resources.values()
    props: dict[str, Any] = resource.get("Properties", {})
    return props


@pytest.fixture(scope="session")
def reference_synth() -> tuple[CampaignBudgetStack, dict[str, Any]]:
    """The reference stack and its template, synthesized through the whole app.

    The cdk-nag packs run as in ``cdk synth``: synthesis raises ``ValidationFailed`` on any
    unacknowledged finding. Shared by tests/stack and tests/security (one synth a session).
    """
    app, stack = build_app(
        new_app(),
        env=ENV,
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    template: dict[str, Any] = app.synth().get_stack_by_name(STACK_ID).template
    return stack, template
