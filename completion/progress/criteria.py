"""Completion criteria and a learner's status against them. Pure.

Owns what "complete" means for a course (required items, share of content consumed, minimum
scores, submissions, time on task, prerequisites, due dates) and the course's own words for
each status. It does not read events (see `facts`) nor judge risk (see `signals`, `risk`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
OVERDUE = "overdue"
LOCKED = "locked"
# Only an instructor's override sets it: the course does not apply to the learner. Unlike an
# override to completed, it earns no certificate.
EXEMPT = "exempt"
STATUSES = (NOT_STARTED, IN_PROGRESS, COMPLETED, OVERDUE, LOCKED, EXEMPT)
DEFAULT_LABELS: Mapping[str, str] = {
    NOT_STARTED: "Not started",
    IN_PROGRESS: "In progress",
    COMPLETED: "Completed",
    OVERDUE: "Overdue",
    LOCKED: "Locked",
    EXEMPT: "Exempt",
}
# The compliance lifecycle the compliance report shows (`completion.reports.compliance`);
# a course may rename these too, by the same `status_labels`.
LIFECYCLE_LABELS: Mapping[str, str] = {
    "compliant": "Compliant",
    "due_soon": "Due soon",
    "overdue": "Overdue",
    "expired": "Expired",
    "failed": "Failed",
    "renewal_required": "Renewal required",
}


@dataclass(frozen=True)
class Criteria:
    """A course's completion criteria. Item ids are `Item` primary keys.

    `tracked_items` are the items whose completion makes up "percent complete": the required
    items when there are any, else every item of the course. `content_items` are the items
    that count as content for `min_content_share` (pages, videos, modules).
    """

    tracked_items: frozenset[int] = frozenset()
    required_items: frozenset[int] = frozenset()
    content_items: frozenset[int] = frozenset()
    min_content_share: float = 0.8
    min_overall_score: float | None = None
    min_item_scores: Mapping[int, float] = field(default_factory=dict)
    # Each item's pass mark (0..1): a score at or above it marks the item done, as a
    # `passed` event or a graded submission with `success` does. `min_item_scores` count too.
    pass_marks: Mapping[int, float] = field(default_factory=dict)
    # Each tracked item's weight in "percent complete" (1 when not given).
    item_weights: Mapping[int, float] = field(default_factory=dict)
    required_submissions: frozenset[int] = frozenset()
    min_time_seconds: float = 0.0
    item_prerequisites: Mapping[int, frozenset[int]] = field(default_factory=dict)
    prerequisite_courses: frozenset[int] = frozenset()
    labels: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LABELS))

    def label(self, status: str) -> str:
        return self.labels.get(status) or DEFAULT_LABELS.get(status, status)


@dataclass(frozen=True)
class Achievement:
    """What a learner has done in the course, as far as criteria care."""

    done_items: frozenset[int] = frozenset()
    consumed_items: frozenset[int] = frozenset()
    submitted_items: frozenset[int] = frozenset()
    best_scores: Mapping[int, float] = field(default_factory=dict)
    time_seconds: float = 0.0
    started: bool = False
    completed_courses: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Evaluation:
    status: str
    label: str
    met: bool
    percent_complete: float  # 0..100
    items_done: int
    items_total: int
    score: float | None  # mean best score over scored items, 0..1
    unmet: tuple[str, ...]
    locked_items: frozenset[int]
    due_on: date | None
    overridden: bool = False


def pass_mark(criteria: Criteria, item: int) -> float | None:
    """The score (0..1) at or above which `item` counts as done, if the course sets one."""
    found = criteria.pass_marks.get(item)
    return criteria.min_item_scores.get(item) if found is None else found


def done_by_score(criteria: Criteria, best_scores: Mapping[int, float]) -> frozenset[int]:
    """Items whose best score reached their pass mark: a graded submission is progress."""
    done = []
    for item, best in best_scores.items():
        mark = pass_mark(criteria, item)
        if mark is not None and best + 1e-9 >= mark:
            done.append(item)
    return frozenset(done)


def weight_of(criteria: Criteria, item: int) -> float:
    return criteria.item_weights.get(item, 1.0)


def percent_of(criteria: Criteria, items: frozenset[int]) -> float:
    """The percentage (0..100) of the tracked items' weight that `items` carry (by count
    when no weights are set or they add up to nothing)."""
    tracked = criteria.tracked_items
    if not tracked:
        return 0.0
    mine = items & tracked
    if criteria.item_weights:
        total = math.fsum(weight_of(criteria, i) for i in tracked)
        if total > 0:
            return 100.0 * math.fsum(weight_of(criteria, i) for i in mine) / total
    return 100.0 * len(mine) / len(tracked)


def overall_score(criteria: Criteria, achievement: Achievement) -> float | None:
    """The mean of best scores over the items with a minimum, else over every scored item."""
    keys = [k for k in criteria.min_item_scores if k in achievement.best_scores]
    if not keys:
        keys = list(achievement.best_scores)
    if not keys:
        return None
    # fsum: exactly rounded, so the order items were first seen in cannot change the result.
    return math.fsum(achievement.best_scores[k] for k in keys) / len(keys)


def locked_items(criteria: Criteria, done: frozenset[int]) -> frozenset[int]:
    """Items whose prerequisite items are not all done yet."""
    return frozenset(
        item for item, needs in criteria.item_prerequisites.items() if not needs <= done
    )


def unmet_requirements(
    criteria: Criteria,
    achievement: Achievement,
    titles: Mapping[int, str],
    *,
    score: float | None,
) -> tuple[str, ...]:
    """Each requirement still open, in plain words; empty when the criteria are met.
    `score` is the learner's `overall_score`."""

    def name(item: int) -> str:
        return titles.get(item) or f"item {item}"

    unmet: list[str] = []
    # With no required items set, every tracked item is required.
    needed = criteria.required_items or criteria.tracked_items
    missing = sorted(needed - achievement.done_items)
    if missing:
        unmet.append(
            "not yet done: "
            + ", ".join(name(i) for i in missing[:5])
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        )
    if criteria.content_items and criteria.min_content_share > 0:
        share = len(criteria.content_items & achievement.consumed_items) / len(
            criteria.content_items
        )
        if share + 1e-9 < criteria.min_content_share:
            unmet.append(
                f"{share:.0%} of content consumed; {criteria.min_content_share:.0%} required"
            )
    for item, minimum in sorted(criteria.min_item_scores.items()):
        best = achievement.best_scores.get(item)
        if best is None or best + 1e-9 < minimum:
            got = "no score" if best is None else f"best {best:.0%}"
            unmet.append(f"{name(item)}: {got}; {minimum:.0%} required")
    if criteria.min_overall_score is not None and (
        score is None or score + 1e-9 < criteria.min_overall_score
    ):
        got = "no score yet" if score is None else f"overall score {score:.0%}"
        unmet.append(f"{got}; {criteria.min_overall_score:.0%} required")
    for item in sorted(criteria.required_submissions - achievement.submitted_items):
        unmet.append(f"{name(item)}: not submitted")
    if achievement.time_seconds + 1e-9 < criteria.min_time_seconds:
        unmet.append(
            f"{achievement.time_seconds / 60:.0f} of "
            f"{criteria.min_time_seconds / 60:.0f} minutes on task"
        )
    return tuple(unmet)


def evaluate(
    criteria: Criteria,
    achievement: Achievement,
    *,
    as_of: date,
    due_on: date | None,
    override: str | None = None,
    titles: Mapping[int, str] | None = None,
) -> Evaluation:
    """The learner's status at the end of `as_of`. An instructor's override wins."""
    tracked = criteria.tracked_items
    done = len(tracked & achievement.done_items)
    percent = percent_of(criteria, achievement.done_items)
    score = overall_score(criteria, achievement)
    unmet = unmet_requirements(criteria, achievement, titles or {}, score=score)
    prerequisites_open = not criteria.prerequisite_courses <= achievement.completed_courses
    met = not unmet and not prerequisites_open and (bool(tracked) or achievement.started)
    if override:
        status = override
    elif prerequisites_open:
        status = LOCKED
    elif met:
        status = COMPLETED
    elif due_on is not None and as_of > due_on:
        status = OVERDUE
    elif not achievement.started:
        status = NOT_STARTED
    else:
        status = IN_PROGRESS
    if met and not tracked:
        percent = 100.0
    return Evaluation(
        status=status,
        label=criteria.label(status),
        met=met,
        percent_complete=percent,
        items_done=done,
        items_total=len(tracked),
        score=score,
        unmet=unmet,
        locked_items=locked_items(criteria, achievement.done_items),
        due_on=due_on,
        overridden=bool(override),
    )
