"""The reference stack deployed by ``app.py`` (and by the local demo)."""

from event_fanout.stacks.campaign_budget_stack import CampaignBudgetStack

__all__ = ["CampaignBudgetStack"]
