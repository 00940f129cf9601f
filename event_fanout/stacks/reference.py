"""The reference stack's names: its stack, bus, app command and the events it routes.

One place for the names the stack is built with (``app_factory``, ``CampaignBudgetStack``) and
the names the local tooling and the demos address it by. Plain values only: importing this
module imports no ``aws_cdk``.
"""

from __future__ import annotations

import sys

#: The reference app's stack (its construct id and its CloudFormation stack name).
REFERENCE_STACK = "CampaignBudgets"
#: The reference stack's event bus.
REFERENCE_BUS = "ads-campaigns"
#: The reference app as the CDK CLI runs it from an installed package (no cdk.json needed).
REFERENCE_APP = f"{sys.executable} -m event_fanout.app_factory"
#: The source of the events the reference stack's rules route.
EVENT_SOURCE = "ads.campaigns"
#: The detail type of a campaign budget change.
BUDGET_CHANGED = "CampaignBudgetChanged"
#: A source no rule of the reference stack matches (every rule filters on ``EVENT_SOURCE``).
UNMATCHED_SOURCE = "ads.billing"
