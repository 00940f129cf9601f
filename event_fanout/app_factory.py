"""Builds the reference app, shared by ``app.py``, the tests and the local demo.

Security checks run inside synthesis (cdk-nag packs as policy-validation plugins), so
``cdk synth`` and ``cdk deploy`` refuse a template with an unacknowledged finding.
"""

from __future__ import annotations

import os
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NIST80053R5Checks,
    ServerlessChecks,
)

from event_fanout.stacks.campaign_budget_stack import CampaignBudgetStack

STACK_ID = "CampaignBudgets"


def add_nag_packs(app: App) -> None:
    """The four packs security reviewers run: AWS Solutions, Serverless, NIST 800-53 R5, HIPAA."""
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
    app = app or App()
    stack_kwargs.setdefault(
        "env",
        Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
    )
    stack = CampaignBudgetStack(app, STACK_ID, **stack_kwargs)
    add_nag_packs(app)
    return app, stack
