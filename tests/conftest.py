"""Hooks and session fixtures of the whole suite (the builders tests share: tests/builders.py)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from event_fanout.stacks.campaign_budget_stack import CampaignBudgetStack


#: Test modules that share a session fixture across folders: one worker per group.
SHARED_FIXTURE_GROUPS = {
    "tests/local/test_e2e.py": "reference-deploy",
    "tests/local/test_fault_run.py": "reference-deploy",
    "tests/local/test_operations.py": "reference-deploy",
    "tests/local/test_producer_correlation.py": "reference-deploy",
    # Its own pytest process and emulator: a unit of its own, beside the other emulator groups.
    "tests/local/test_example_app.py": "example-app",
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


@pytest.fixture(scope="session")
def reference_synth() -> tuple[CampaignBudgetStack, dict[str, Any]]:
    """The reference stack and its template, synthesized through the whole app.

    The cdk-nag packs run as in ``cdk synth``: synthesis raises ``ValidationFailed`` on any
    unacknowledged finding. Shared by tests/stack and tests/security (one synth a session).
    """
    from aws_cdk import DefaultStackSynthesizer

    from event_fanout.app_factory import build_app
    from event_fanout.stacks.reference import REFERENCE_STACK
    from tests.builders import ENV, new_app

    app, stack = build_app(
        new_app(),
        env=ENV,
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    template: dict[str, Any] = app.synth().get_stack_by_name(REFERENCE_STACK).template
    return stack, template
