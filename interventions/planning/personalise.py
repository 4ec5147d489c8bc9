"""Where a learner stopped and how long the rest of it takes, for personalised messages.

"You are 15 minutes from finishing Module 4": the item a learner last worked on without
finishing it (else the first they have not started), the time peers who finished it spent on
it (the median), and the learner's own time so far. Pure: rows in, plain values out.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple


class ItemRow(NamedTuple):
    """One learner's totals on one item (a named tuple: a course has a row per learner
    and item, hundreds of thousands)."""

    person_id: int
    item_id: int
    seconds: float
    done: bool
    last_at: str  # the latest event's time as UTC text ("2026-03-02 10:00:00.5+00"): sortable


@dataclass(frozen=True)
class CourseItem:
    item_id: int
    title: str
    url: str  # a direct link when the item's id is a web address, else ""


@dataclass(frozen=True)
class NextStep:
    title: str
    url: str
    item_minutes: int | None  # what finishing it usually takes
    minutes_left: int | None  # what is left for this learner, when they have started it


def next_steps(
    rows: Iterable[ItemRow], items: Sequence[CourseItem], *, min_peers: int = 3
) -> dict[int, NextStep]:
    """Per person, the item to come back to and the minutes it usually takes to finish."""
    by_person: dict[int, list[ItemRow]] = defaultdict(list)
    finished: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        by_person[row.person_id].append(row)
        if row.done and row.seconds > 0:
            finished[row.item_id].append(row.seconds)
    typical = {
        item_id: statistics.median(values)
        for item_id, values in finished.items()
        if len(values) >= min_peers
    }
    order = {item.item_id: item for item in items}
    steps = {}
    for person_id, mine in by_person.items():
        step = _step_for(mine, items, order, typical)
        if step is not None:
            steps[person_id] = step
    return steps


def _step_for(
    mine: list[ItemRow],
    items: Sequence[CourseItem],
    order: dict[int, CourseItem],
    typical: dict[int, float],
) -> NextStep | None:
    unfinished = [r for r in mine if not r.done and r.item_id in order]
    if unfinished:
        row = max(unfinished, key=lambda r: r.last_at)
        item, spent = order[row.item_id], row.seconds
    else:
        touched = {r.item_id for r in mine}
        fresh = next((i for i in items if i.item_id not in touched), None)
        if fresh is None:
            return None
        item, spent = fresh, 0.0
    usual = typical.get(item.item_id)
    left = None if usual is None or spent <= 0 else max(round((usual - spent) / 60), 1)
    return NextStep(
        title=item.title,
        url=item.url,
        item_minutes=round(usual / 60) if usual is not None else None,
        minutes_left=left,
    )
