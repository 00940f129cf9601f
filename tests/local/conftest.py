"""Fixtures of the local-AWS tests: one emulator per session, always stopped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from event_fanout.local.cdk_cli import CdkApp
from event_fanout.local.demo import deploy_reference_stack
from event_fanout.local.server import LocalAws
from event_fanout.stacks.reference import REFERENCE_STACK


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    """A moto server (with the compatibility fixes) on a free port for the whole session."""
    log = Path(tmp_path_factory.mktemp("moto")) / "moto.log"
    with LocalAws(log_path=log) as aws:
        yield aws


@pytest.fixture(scope="session")
def deploy_reference(
    local_aws: LocalAws, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], CdkApp]:
    """Deploy the reference stack afresh (a new stack, pristine code and empty queues).

    The first deploy is ``cdk deploy`` of ``app.py`` exactly as a user runs it; later ones hand
    the CLI the cloud assembly that deploy synthesized, so the same template is not synthesized
    twice in one session.
    """
    assembly = tmp_path_factory.mktemp("reference-assembly")
    deployed: list[CdkApp] = []

    def deploy_fresh() -> CdkApp:
        if not deployed:
            app = CdkApp(stack_name=REFERENCE_STACK, output_dir=assembly)
        else:
            app = CdkApp(
                stack_name=REFERENCE_STACK,
                app=str(assembly),
                output_dir=tmp_path_factory.mktemp("reference-redeploy"),
            )
        deployed.append(deploy_reference_stack(local_aws.environment, app=app, fresh=True))
        return app

    return deploy_fresh
