"""Builds the reference app, shared by ``app.py``, the tests and the local demo.

Security checks run inside synthesis (cdk-nag packs as policy-validation plugins), so
``cdk synth`` and ``cdk deploy`` refuse a template with an unacknowledged finding.
"""

from __future__ import annotations

import os
from typing import Any

from aws_cdk import App, Environment, Validations

from event_fanout.stacks.campaign_budget_stack import CampaignBudgetStack
from event_fanout.stacks.reference import REFERENCE_STACK

#: The reference app's feature flags. The app sets them itself, so it synthesizes the same
#: template when run from an installed package (no cdk.json); the repository's cdk.json lists
#: the same flags for `npx cdk` runs there (tests/stack checks the two agree).
REFERENCE_CONTEXT: dict[str, object] = {
    "@aws-cdk/aws-lambda:recognizeLayerVersion": True,
    "@aws-cdk/core:checkSecretUsage": True,
    "@aws-cdk/core:target-partitions": ["aws", "aws-cn"],
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/core:validateSnapshotRemovalPolicy": True,
    "@aws-cdk/aws-sqs:queueEncryptedByDefault": True,
    "@aws-cdk/aws-sns:enforceSslByDefault": True,
    "@aws-cdk/aws-lambda:useCdkManagedLogGroup": True,
    "@aws-cdk/core:enableAdditionalMetadataCollection": False,
}


def add_nag_packs(app: App) -> None:
    """The four packs security reviewers run: AWS Solutions, Serverless, NIST 800-53 R5, HIPAA.

    cdk-nag comes with the ``local`` extra; imported here, when the reference app is built.
    """
    from cdk_nag import (
        AwsSolutionsChecks,
        HIPAASecurityChecks,
        NIST80053R5Checks,
        ServerlessChecks,
    )

    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app),
        ServerlessChecks(app),
        NIST80053R5Checks(app),
        HIPAASecurityChecks(app),
    )


def build_app(app: App | None = None, **stack_kwargs: Any) -> tuple[App, CampaignBudgetStack]:
    """Create the reference stack in ``app`` with the nag packs attached.

    The account and region come from the environment the CDK CLI sets (the credentials in use),
    so one code path deploys to the local emulator and to real AWS.
    """
    app = app or App(context=REFERENCE_CONTEXT)
    stack_kwargs.setdefault(
        "env",
        Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
    )
    stack = CampaignBudgetStack(app, REFERENCE_STACK, **stack_kwargs)
    add_nag_packs(app)
    return app, stack


def main() -> None:
    """Synthesize the reference app: ``cdk deploy --app "python -m event_fanout.app_factory"``."""
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
