"""Today's plan as staff preview it: one page of the planner's dry run, in the order asked.

The dry run decides every learner's step in memory (nothing is stored), so its actions are
sorted and cut here rather than in SQL; what the page sends back is 50 rows, not the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from interventions.planning.planner import PlannedAction
from lti_tool.db.paging import page_of

SORTS: dict[str, Callable[[PlannedAction], Any]] = {
    "learner": lambda a: (a.learner.lower(), a.membership_id, a.step),
    "step": lambda a: (a.playbook, a.step, a.learner.lower(), a.membership_id),
    "outcome": lambda a: (a.status, a.learner.lower(), a.membership_id),
}


@dataclass(frozen=True)
class PlanPage:
    rows: list[PlannedAction]
    total: int
    page: int
    pages: int
    sort: str


def plan_page(actions: Sequence[PlannedAction], *, sort: str, page: int) -> PlanPage:
    """Page `page` of the actions in `sort`'s order (by learner when unknown)."""
    sort = sort if sort in SORTS else "learner"
    cut = page_of(len(actions), page)
    ordered = sorted(actions, key=SORTS[sort])
    return PlanPage(ordered[cut.first : cut.last], len(actions), cut.number, cut.pages, sort)
