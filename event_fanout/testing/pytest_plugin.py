"""pytest fixtures for integration tests of your own fan-out on the local emulator.

Registered as a ``pytest11`` plugin by the package; the fixtures need the ``local`` extra
(``pip install cdk-event-fanout[local]``) and Node.js for the CDK CLI. A test reads like::

    def test_an_order_is_billed_once(fanout_app):
        fanout_app.publish(source="shop.orders", detail_type="OrderPlaced", detail={...})
        fanout_app.drain()
        assert fanout_app.consumer("Billing").processed == 1

Fixtures
--------
``fanout_emulator`` (session)
    The moto server with this package's compatibility fixes, on a free port, stopped at the
    end of the session.
``fanout_deployment`` (session)
    The CDK app deployed into it once (``cdk deploy`` of every stack, verified): the app in
    ``--fanout-app DIR`` (ini ``fanout_app``), by default pytest's root directory.
``fanout_app`` (function)
    The deployment as a :class:`~event_fanout.testing.local_app.FanoutApp`, reset before each
    test (queues, DLQs and idempotency tables emptied), so tests are independent without a
    redeploy.

Importing this module costs nothing: the emulator and the CDK tooling load when a fixture is
first used, so the plugin is harmless in a project that never asks for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from event_fanout.local.server import LocalAws
    from event_fanout.testing.local_app import FanoutApp


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--fanout-app DIR``: the CDK app the fixtures deploy (default: the root directory)."""
    group = parser.getgroup("event-fanout")
    group.addoption(
        "--fanout-app",
        dest="fanout_app",
        default=None,
        help="directory of the CDK app (its cdk.json) the fanout_app fixture deploys",
    )
    parser.addini("fanout_app", "directory of the CDK app the fanout_app fixture deploys")


def _app_dir(config: pytest.Config) -> Path:
    given = config.getoption("fanout_app") or config.getini("fanout_app")
    return Path(given).resolve() if given else config.rootpath


@pytest.fixture(scope="session")
def fanout_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    """The local emulator for the whole session."""
    from event_fanout.local.server import LocalAws

    log = tmp_path_factory.mktemp("fanout-emulator") / "moto.log"
    with LocalAws(log_path=log) as aws:
        yield aws


@pytest.fixture(scope="session")
def fanout_deployment(
    request: pytest.FixtureRequest,
    fanout_emulator: LocalAws,
    tmp_path_factory: pytest.TempPathFactory,
) -> FanoutApp:
    """The app deployed once into the session's emulator."""
    from event_fanout.local.deploy import deploy_project
    from event_fanout.local.project import Project
    from event_fanout.local.session import session_for
    from event_fanout.testing.local_app import FanoutApp

    app_dir = _app_dir(request.config)
    env = fanout_emulator.environment
    deploy_project(env, app_dir)
    mappings = Project(app_dir).mappings(session_for(env))
    return FanoutApp(env, mappings, log_dir=tmp_path_factory.mktemp("fanout-consumer-logs"))


@pytest.fixture
def fanout_app(fanout_deployment: FanoutApp) -> FanoutApp:
    """The deployed app, its queues, DLQs and idempotency tables emptied for this test."""
    fanout_deployment.reset()
    return fanout_deployment
