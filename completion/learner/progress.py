"""What a learner sees of their own course: progress, what comes next, milestones and pace.

Reads only the learner's own rows (the caller passes their own membership). Also registers
completion's sections of the learner's "my data" export with `lti_tool.audit.privacy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Max, Min
from django.utils import timezone

from completion.models import (
    Activity,
    Item,
    Pause,
    Progress,
    RiskScore,
    StatusOverride,
)
from completion.progress import criteria as crit
from completion.risk.facts import DONE_EVENT
from completion.risk.selectors import setup_of
from completion.risk.signals import from_stored
from lti_tool.audit import privacy
from lti_tool.models import Course, Membership, Person

MILESTONES = (25, 50, 75, 100)


@dataclass(frozen=True)
class ItemState:
    title: str
    kind: str
    done: bool
    started: bool
    url: str  # a direct link when the item's id is a web address (xAPI activity ids often are)


@dataclass(frozen=True)
class LearnerProgress:
    progress: Progress | None
    items: list[ItemState]
    next_item: ItemState | None
    milestones: list[tuple[int, bool]]
    pace_words: str


def learner_progress(membership: Membership) -> LearnerProgress:
    progress = Progress.objects.filter(membership=membership).order_by("-as_of").first()
    states = _item_states(membership)
    pending = [s for s in states if not s.done]
    percent = progress.percent_complete if progress else 0.0
    return LearnerProgress(
        progress=progress,
        items=states,
        next_item=pending[0] if pending else None,
        milestones=[(m, percent + 1e-9 >= m) for m in MILESTONES],
        pace_words=_pace_words(progress),
    )


def _item_states(membership: Membership) -> list[ItemState]:
    rows = (
        Activity.objects.filter(course=membership.course, person=membership.person)
        .exclude(item=None)
        .values_list("item")
        .annotate(done=Min("occurred_at", filter=DONE_EVENT), best=Max("score"))
        .values_list("item", "done", "best")
    )
    seen = {item: done for item, done, _ in rows}
    best = {item: b for item, _, b in rows if b is not None}
    by_score = crit.done_by_score(setup_of(membership.course).criteria, best)
    items = Item.objects.filter(course=membership.course, is_tool_lineitem=False).order_by(
        "position", "pk"
    )
    return [
        ItemState(
            title=i.title or i.external_id,
            kind=i.kind,
            done=seen.get(i.pk) is not None or i.pk in by_score,
            started=i.pk in seen,
            url=i.external_id if i.external_id.startswith(("https://", "http://")) else "",
        )
        for i in items
    ]


def _pace_words(progress: Progress | None) -> str:
    if progress is None:
        return "Your progress appears here after your first activity is recorded."
    if progress.criteria_met:
        return "You have met every requirement of this course. Well done."
    gap = progress.gap
    if gap <= 0:
        return "You are on pace or ahead. Keep going."
    if gap < 20:
        return f"You are a little behind: {gap:.0f} points of the course."
    return f"You are {gap:.0f} points behind the pace that finishes on time."


# --- "my data" sections ---------------------------------------------------------------------


def activity_rows(person: Person) -> list[dict[str, Any]]:
    return privacy.rows_of(
        # Through the deployment's courses: the event store's indexes lead with the course.
        Activity.objects.filter(
            course__in=Course.objects.filter(deployment_id=person.deployment_id), person=person
        )
        .order_by("occurred_at")
        .values("course__context_id", "item__title", "verb", "occurred_at", "duration_seconds",
                "score", "success", "source")
    )  # fmt: skip


def progress_rows(person: Person) -> list[dict[str, Any]]:
    return privacy.rows_of(
        Progress.objects.filter(membership__person=person)
        .order_by("course_id", "as_of")
        .values("course__context_id", "as_of", "status_label", "percent_complete",
                "expected_percent", "time_on_task_seconds", "score", "due_on", "criteria_met")
    )  # fmt: skip


def risk_rows(person: Person) -> list[dict[str, Any]]:
    return privacy.rows_of(
        RiskScore.objects.filter(membership__person=person)
        .order_by("course_id", "as_of")
        .values("course__context_id", "as_of", "tier", "probability", "reasons", "model_used")
    )


def signal_rows(person: Person) -> list[dict[str, Any]]:
    """Each signal that fired for the person, by day."""
    scores = (
        RiskScore.objects.filter(membership__person=person, fired_signals__gt=0)
        .order_by("as_of", "course_id")
        .values_list("course__context_id", "as_of", "signals")
    )
    return [
        {"course__context_id": course, "as_of": as_of, "code": r.code, "value": r.value,
         "threshold": r.threshold, "reason": r.reason}
        for course, as_of, signals in scores
        for r in from_stored(signals)
        if r.fired
    ]  # fmt: skip


def pause_rows(person: Person) -> list[dict[str, Any]]:
    rows = privacy.rows_of(
        Pause.objects.filter(membership__person=person).values(
            "membership__course__context_id", "starts_on", "until", "reason", "created_at"
        )
    )
    rows += [
        {"membership__course__context_id": o["membership__course__context_id"],
         "override_status": o["status"], "reason": o["reason"], "at": o["at"]}
        for o in StatusOverride.objects.filter(membership__person=person).values(
            "membership__course__context_id", "status", "reason", "at"
        )
    ]  # fmt: skip
    return rows


def current_pause(membership: Membership, today: date | None = None) -> Pause | None:
    today = today or timezone.now().date()
    return (
        Pause.objects.filter(membership=membership, starts_on__lte=today, until__gte=today)
        .order_by("-until")
        .first()
    )


def register_privacy_sections() -> None:
    privacy.register("activity", activity_rows)
    privacy.register("progress", progress_rows)
    privacy.register("risk_scores", risk_rows)
    privacy.register("signals", signal_rows)
    privacy.register("pauses_and_overrides", pause_rows)
