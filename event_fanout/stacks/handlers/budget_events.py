"""The reference app's event type, shared by its producer and its consumers.

The campaign service (outside this app) publishes it; ReportingSync and Notification consume it.
This module ships with the handlers (a top-level ``budget_events`` in the Lambda) and is
imported by the stack as ``event_fanout.stacks.handlers.budget_events``: one declaration for
the rules' patterns, the runtime's parsing, the schema registry and the contract check.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from event_fanout.events import EventType

__all__ = ["BudgetChanged", "BudgetChangedDetail"]


class BudgetChangedDetail(BaseModel):
    """``detail`` of ``ads.campaigns`` / ``CampaignBudgetChanged``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    company_id: int
    profile_id: int
    campaign_id: int
    old_budget: Decimal
    new_budget: Decimal
    #: The budget's own version (a business fact: later changes have higher ones), not the
    #: event type's version (``detail.eventVersion``).
    version: int


BudgetChanged = EventType(
    source="ads.campaigns",
    detail_type="CampaignBudgetChanged",
    version=1,
    detail=BudgetChangedDetail,
    description="A campaign's budget changed (old and new budget, the budget's version)",
)
