"""The reference stack deployed by ``app.py`` (and by the local demo).

``CampaignBudgetStack`` is exported lazily (PEP 562 module ``__getattr__``), so that
:mod:`event_fanout.stacks.reference` (the stack's names) imports without ``aws_cdk``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from event_fanout._lazy_exports import lazy_exports

_EXPORTS: dict[str, str] = {
    "CampaignBudgetStack": "event_fanout.stacks.campaign_budget_stack",
}

__all__ = ["CampaignBudgetStack"]

if TYPE_CHECKING:
    from event_fanout.stacks.campaign_budget_stack import CampaignBudgetStack


__getattr__ = lazy_exports(globals(), _EXPORTS)
