"""Whether a course's completion criteria may be saved, and the prerequisite path they draw. Pure.

Owns every rule an edit of the criteria must pass (items and courses that exist, marks and
shares in range, dates in order, prerequisites without a circle, warning-signal thresholds in
range) so the criteria page, the API
and `completion.risk.services.update_criteria` refuse the same things in the same words. It
does not parse forms (`completion.instructor.criteria_form`) nor save (`risk.services`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from completion.progress.criteria import LIFECYCLE_LABELS, STATUSES


@dataclass(frozen=True)
class Problem:
    """One reason the criteria cannot be saved: the criteria field it is about (and the item,
    for a per-item value), in words a person reads next to that field."""

    field: str
    message: str
    item: int | None = None


@dataclass(frozen=True)
class Catalogue:
    """What the criteria may name: the course's items and the other courses it may require."""

    course_id: int
    titles: Mapping[int, str]
    courses: Mapping[int, str] = field(default_factory=dict)

    def name(self, item: int) -> str:
        return f"“{self.titles.get(item) or f'item {item}'}”"


@dataclass(frozen=True)
class Draft:
    """The criteria as they would be saved, item ids as ints, shares and marks 0..1."""

    required_items: tuple[int, ...] = ()
    required_submissions: tuple[int, ...] = ()
    min_item_scores: Mapping[int, float] = field(default_factory=dict)
    item_due_dates: Mapping[int, date] = field(default_factory=dict)
    item_prerequisites: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    prerequisite_courses: tuple[int, ...] = ()
    min_content_share: float = 0.8
    min_overall_score: float | None = None
    min_time_minutes: int = 0
    fixed_timeline: bool = False
    starts_on: date | None = None
    ends_on: date | None = None
    status_labels: tuple[str, ...] = ()
    anchor_shares: tuple[float, ...] = ()
    reminder_days: tuple[int, ...] = ()
    # Each warning signal's threshold as scoring would use it (the defaults where none is set).
    thresholds: Mapping[str, float] = field(default_factory=dict)


def _percent(value: float | None) -> bool:
    return value is None or 0 <= value <= 1


def _unknown_items(name: str, ids: Iterable[int], known: Catalogue, what: str) -> list[Problem]:
    return [
        Problem(name, f"Item {i} is not an item of this course, so it cannot be {what}.", i)
        for i in ids
        if i not in known.titles
    ]


def find_cycle(prerequisites: Mapping[int, Iterable[int]]) -> tuple[int, ...]:
    """A circle of prerequisites (each item requires the next, the last the first), or ()."""
    state: dict[int, int] = {}  # 1: on the current path, 2: finished
    path: list[int] = []

    def visit(item: int) -> tuple[int, ...]:
        state[item] = 1
        path.append(item)
        for need in sorted(prerequisites.get(item, ())):
            if state.get(need) == 1:
                return tuple(path[path.index(need) :])
            if need not in state and (found := visit(need)):
                return found
        path.pop()
        state[item] = 2
        return ()

    for start in sorted(prerequisites):
        if start not in state and (found := visit(start)):
            return found
    return ()


def _prerequisite_problems(draft: Draft, known: Catalogue) -> list[Problem]:
    found: list[Problem] = []
    for item, needs in sorted(draft.item_prerequisites.items()):
        for i in (item, *needs):
            if i not in known.titles:
                found.append(
                    Problem("item_prerequisites", f"Item {i} is not an item of this course.", i)
                )
        if item in needs:
            found.append(
                Problem("item_prerequisites", f"{known.name(item)} cannot require itself.", item)
            )
    if found:
        return found
    cycle = find_cycle(draft.item_prerequisites)
    if cycle:
        steps = ", ".join(
            f"{known.name(a)} requires {known.name(b)}"
            for a, b in zip(cycle, (*cycle[1:], cycle[0]), strict=True)
        )
        found.append(
            Problem(
                "item_prerequisites",
                f"These prerequisites go round in a circle, so no learner could start any of "
                f"them: {steps}. Remove one of these pairs.",
            )
        )
    return found


def _course_problems(draft: Draft, known: Catalogue) -> list[Problem]:
    found = []
    for c in draft.prerequisite_courses:
        if c == known.course_id:
            found.append(Problem("prerequisite_course_ids", "A course cannot require itself."))
        elif c not in known.courses:
            found.append(
                Problem("prerequisite_course_ids", f"Course {c} is not a course of this platform.")
            )
    return found


def _item_problems(draft: Draft, known: Catalogue) -> list[Problem]:
    found = _unknown_items("required_item_ids", draft.required_items, known, "required")
    found += _unknown_items(
        "required_submission_ids", draft.required_submissions, known, "a required submission"
    )
    found += _unknown_items("min_item_scores", draft.min_item_scores, known, "given a pass mark")
    found += _unknown_items("item_due_dates", draft.item_due_dates, known, "given a due date")
    for item, mark in sorted(draft.min_item_scores.items()):
        if not _percent(mark):
            found.append(
                Problem(
                    "min_item_scores",
                    f"The pass mark of {known.name(item)} must be between 0% and 100%.",
                    item,
                )
            )
    return found


def _course_level_problems(draft: Draft) -> list[Problem]:
    found = []
    if not _percent(draft.min_content_share):
        found.append(
            Problem("min_content_share", "The share of content must be between 0% and 100%.")
        )
    if not _percent(draft.min_overall_score):
        found.append(Problem("min_overall_score", "The overall score must be between 0% and 100%."))
    if draft.min_time_minutes < 0:
        found.append(Problem("min_time_minutes", "Time on task cannot be negative."))
    if draft.fixed_timeline and not (draft.starts_on and draft.ends_on):
        found.append(Problem("starts_on", "A fixed-date timeline needs a start and an end date."))
    if draft.starts_on and draft.ends_on and draft.ends_on < draft.starts_on:
        found.append(Problem("ends_on", "The end date is before the start date."))
    unknown = set(draft.status_labels) - set(STATUSES) - set(LIFECYCLE_LABELS)
    if unknown:
        found.append(
            Problem("status_labels", f"Unknown statuses in labels: {', '.join(sorted(unknown))}.")
        )
    if any(not 1 <= d <= 365 for d in draft.reminder_days):
        found.append(Problem("reminder_days", "Each reminder must be 1 to 365 days before."))
    if not all(0 <= s <= 1 for s in draft.anchor_shares):
        found.append(Problem("anchors", "An anchor's share must be between 0% and 100%."))
    return found


# What each warning signal's threshold may be, as stored (hours, counts, shares 0..1, z-scores
# below 0), and the words that say so in the units the criteria page shows. Codes as
# `completion.risk.signals` names them; unknown codes are `RulesConfig`'s to refuse.
THRESHOLD_LIMITS: Mapping[str, tuple[float, float, str]] = {
    "not_started_48h": (1, 24 * 60, "between 1 and 1440 hours"),
    "missed_visits_2": (1, 30, "between 1 and 30 visits"),
    "missed_visits_4": (1, 30, "between 1 and 30 visits"),
    "behind_pace_20": (0.01, 1, "between 1% and 100% of the course"),
    "behind_pace_40": (0.01, 1, "between 1% and 100% of the course"),
    "failed_twice": (1, 20, "between 1 and 20 failures"),
    "many_attempts": (1, 50, "between 1 and 50 attempts"),
    "below_min_time": (0.01, 1, "between 1% and 100% of the minimum"),
    "score_below_cohort": (-5, -0.1, "between 0.1 and 5 standard deviations"),
    "low_content_time": (0.01, 1, "between 1% and 100% of the expected time"),
    "no_forum_day_7": (1, 365, "between day 1 and day 365"),
    "technical_errors": (1, 100, "between 1 and 100 errors"),
    "low_engagement_week1": (1, 99, "between the 1st and the 99th percentile"),
    "low_engagement": (1, 99, "between the 1st and the 99th percentile"),
    "declining_trend": (0.01, 1, "between 1% and 100% of the days before"),
    "peer_deviation": (-5, -0.1, "between 0.1 and 5 standard deviations"),
    "low_activity_so_far": (1, 99, "between the 1st and the 99th percentile"),
}
# Counts and days: a fraction (2.5 visits) means nothing to the signal, so only whole numbers.
WHOLE_THRESHOLDS = frozenset(
    {"missed_visits_2", "missed_visits_4", "failed_twice", "many_attempts", "no_forum_day_7",
     "technical_errors"}
)  # fmt: skip
# A stronger warning must ask for more than the weaker one it adds to.
STRONGER = {"missed_visits_4": "missed_visits_2", "behind_pace_40": "behind_pace_20"}


def _threshold_problems(thresholds: Mapping[str, float]) -> list[Problem]:
    found = []
    for code, value in thresholds.items():
        if code in THRESHOLD_LIMITS:
            low, high, words = THRESHOLD_LIMITS[code]
            whole = code not in WHOLE_THRESHOLDS or float(value).is_integer()
            if not (low <= value <= high and whole):
                kind = "a value" if code not in WHOLE_THRESHOLDS else "a whole number"
                found.append(Problem(f"threshold_{code}", f"Choose {kind} {words}."))
    out_of_range = {p.field for p in found}
    for strong, weak in STRONGER.items():
        t, fields = thresholds, {f"threshold_{strong}", f"threshold_{weak}"}
        if strong in t and weak in t and t[strong] <= t[weak] and not fields & out_of_range:
            found.append(
                Problem(
                    f"threshold_{strong}",
                    "This stronger warning must ask for more than the one before it.",
                )
            )
    return found


def problems(draft: Draft, known: Catalogue) -> tuple[Problem, ...]:
    """Every reason `draft` cannot be saved for the course `known` describes; () when it can."""
    return (
        *_item_problems(draft, known),
        *_prerequisite_problems(draft, known),
        *_course_problems(draft, known),
        *_course_level_problems(draft),
        *_threshold_problems(draft.thresholds),
    )


@dataclass(frozen=True)
class Step:
    """One step of the prerequisite path: items that may be done once every earlier step
    they require is done. `needs` maps each item to what it requires."""

    number: int
    items: tuple[int, ...]
    needs: Mapping[int, tuple[int, ...]]


def path_of(prerequisites: Mapping[int, Iterable[int]], order: Iterable[int]) -> tuple[Step, ...]:
    """The items that take part in a prerequisite, in steps: an item's step is one after the
    latest step of what it requires. Items keep the course's `order` within a step. A circle
    (which `problems` refuses) yields no steps."""
    graph = {i: tuple(sorted(set(n))) for i, n in prerequisites.items() if n}
    if find_cycle(graph):
        return ()
    members = set(graph) | {n for needs in graph.values() for n in needs}
    depth: dict[int, int] = {}

    def depth_of(item: int) -> int:
        if item not in depth:
            depth[item] = 1 + max((depth_of(n) for n in graph.get(item, ())), default=-1)
        return depth[item]

    rank = {item: n for n, item in enumerate(order)}
    ordered = sorted(members, key=lambda i: (rank.get(i, len(rank)), i))
    steps = max((depth_of(i) for i in ordered), default=-1) + 1
    return tuple(
        Step(
            number=s + 1,
            items=tuple(i for i in ordered if depth_of(i) == s),
            needs={i: graph[i] for i in ordered if depth_of(i) == s and i in graph},
        )
        for s in range(steps)
    )
