"""Builders the tests share: an app/stack with cdk.json's flags, a tiny real function, helpers.

Kept out of conftest.py so that loading the conftest (pytest-xdist's controller does, and only
needs its hooks) does not start aws-cdk-lib's jsii kernel.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Any

# Before aws_cdk starts its jsii kernel: keep Node's end-of-life banner out of test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")

from aws_cdk import App, DefaultStackSynthesizer, Duration, Environment, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV = Environment(account="123456789012", region="eu-west-1")


#: App keyword turning CDK's built-in template validation off, where the aws-cdk-lib in use has
#: it (newer than the minimum the package supports, which CI also tests).
WITHOUT_VALIDATION: dict[str, Any] = (
    {"builtin_cloud_formation_validation": False}
    if "builtin_cloud_formation_validation" in inspect.signature(App.__init__).parameters
    else {}
)


def cdk_context() -> dict[str, Any]:
    """The feature flags of cdk.json, so tests synthesize what `cdk synth` does."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


def new_app(context: dict[str, Any] | None = None, **kwargs: Any) -> App:
    """An app with cdk.json's feature flags, without CDK's built-in template validation.

    The validation (a Node.js engine run after every synth: ~3 s to start, ~0.6 s a template)
    is a third of the unit tests' time and checks nothing they assert. The templates users
    deploy still meet it: the end-to-end tests run ``cdk deploy`` of app.py with it on, and
    cfn-lint runs on the reference, maximal, composed and sharded templates here.
    ``context``: feature flags set on top of cdk.json's, as a user's own app may have them.
    """
    return App(context={**cdk_context(), **(context or {})}, **WITHOUT_VALIDATION, **kwargs)


def new_stack(name: str = "Test", context: dict[str, Any] | None = None) -> Stack:
    """A stack in a fixed account/region with no bootstrap-version rule (stable templates)."""
    app = new_app(context)
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
