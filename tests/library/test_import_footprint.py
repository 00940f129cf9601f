"""Synthesizing loads the construct side only, not what the consumer Lambdas run.

The constructs read names from ``event_fanout.runtime.constants``; an eager
``event_fanout.runtime`` package would load Powertools, boto3 and pydantic (a third of a
second) into every ``cdk synth`` and every app that composes the constructs.
"""

from __future__ import annotations

import subprocess
import sys

LAMBDA_ONLY = ("aws_lambda_powertools", "boto3", "botocore", "pydantic")

SYNTH_SIDE_IMPORT = f"""
import sys

import event_fanout
import event_fanout.constructs
import event_fanout.stacks
from event_fanout import EventFanout, FanoutConsumer, Idempotency

roots = {{name.split(".")[0] for name in sys.modules}}
print(sorted(roots & set({LAMBDA_ONLY!r})))
import event_fanout.app_factory

print(sorted({{name.split(".")[0] for name in sys.modules}} & set({LAMBDA_ONLY!r})))
import event_fanout.runtime.constants
from event_fanout.runtime import fanout_consumer
print(sorted({{name.split(".")[0] for name in sys.modules}} & set({LAMBDA_ONLY!r})))
"""


def test_construct_side_imports_no_lambda_runtime_dependency() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SYNTH_SIDE_IMPORT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    synth_side, reference_app, after_runtime_use = result.stdout.splitlines()[-3:]
    assert synth_side == "[]"
    # The reference app declares its event type (a pydantic model), and loads nothing else
    # a Lambda needs: event types are shared code, not the runtime.
    assert reference_app == "['pydantic']"
    # The probe can see them: using a runtime export loads its dependencies on first use.
    assert "aws_lambda_powertools" in after_runtime_use
