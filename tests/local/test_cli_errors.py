"""The ``event-fanout`` command reports what went wrong and how to fix it, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from event_fanout.cli import main
from event_fanout.local.cdk_cli import CdkApp, DeployError, bootstrap
from event_fanout.local.deploy import deploy
from event_fanout.local.server import LocalAws

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent


def test_demo_on_a_busy_port_says_so_and_how_to_fix_it(local_aws: LocalAws) -> None:
    result = CliRunner().invoke(main, ["demo", "--port", str(local_aws.port)])
    assert result.exit_code == 1
    assert f"port {local_aws.port} on 127.0.0.1 is busy" in result.output
    assert "pick another port" in result.output
    assert "Traceback" not in result.output


def test_a_failed_deploy_shows_the_cloudformation_error(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    app = CdkApp(
        stack_name="EventFanoutBrokenTest",
        app=f"python {HERE / 'mini_app.py'}",
        output_dir=tmp_path,
    )
    env = {**local_aws.environment, "COMPAT_BROKEN": "1", "COMPAT_STACK_NAME": app.stack_name}
    bootstrap(env, app)
    with pytest.raises(DeployError) as failure:
        deploy(env, app)
    message = str(failure.value)
    assert message.startswith("`cdk deploy EventFanoutBrokenTest` failed (exit 1)")
    assert "Can only include alphanumeric characters, hyphens, or underscores" in message
