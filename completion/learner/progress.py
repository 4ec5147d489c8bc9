"""What a learner sees of their own course: progress, what comes next, milestones and pace.

Reads only the learner's own rows (the caller passes their own membership). Also registers
completion's sections of the learner's "my data" export with `lti_tool.audit.privacy`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Exists, JSONField, OuterRef, Subquery
from django.utils import timezone

from completion.models import (
    Accommodation,
    Activity,
    CompletionCriteria,
    Item,
    Pause,
    Progress,
    RiskScore,
    StatusOverride,
)
from completion.progress import criteria as crit
from completion.risk.facts import DONE_VERBS
from completion.risk.selectors import setup_of
from completion.risk.signals import from_stored
from lti_tool.audit import privacy
from lti_tool.db.bulk import columns_of, instance_of
from lti_tool.models import Course, Membership, Person

MILESTONES = (25, 50, 75, 100)


@dataclass(frozen=True)
class ItemState:
    title: str
    kind: str
    done: bool
    started: bool
    url: str  # a direct link when the item's id is a web address (xAPI activity ids often are)
    item_id: int = 0
    locked_reason: str = ""  # a gated path's item whose prerequisites are not done yet


@dataclass(frozen=True)
class LearnerProgress:
    progress: Progress | None
    items: list[ItemState]
    next_item: ItemState | None
    milestones: list[tuple[int, bool]]
    pace_words: str
    # Read with the rest on PostgreSQL (else None: `page_extras` reads them): the course's item
    # prerequisites, and whether the learner has an accommodation.
    gated: dict[int, frozenset[int]] | None = field(default=None, compare=False)
    accommodated: bool | None = field(default=None, compare=False)


def learner_progress(membership: Membership) -> LearnerProgress:
    progress = Progress.objects.filter(membership=membership).order_by("-as_of").first()
    return _view(membership, progress, _item_rows(membership))


def learner_page(
    membership: Membership, today: date | None = None
) -> tuple[LearnerProgress, Pause | None]:
    """What the learner's page shows: progress, item states and the current pause.

    One statement on PostgreSQL (the page a launch serves: every round trip counts), with the
    same reads as `learner_progress` and `current_pause` elsewhere."""
    today = today or timezone.now().date()
    if connection.vendor != "postgresql":
        return learner_progress(membership), current_pause(membership, today)
    progress_fields, progress_columns = columns_of(Progress, "pr")
    pause_fields, pause_columns = columns_of(Pause, "pa")
    items_sql, items_params = _item_rows_sql(membership)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {progress_columns}, {pause_columns},"
            " (SELECT coalesce(json_agg(json_build_array(pk, title, external_id, kind, started,"
            f"  done, best) ORDER BY n), '[]'::json) FROM ({items_sql}) AS items),"
            f' (SELECT item_prerequisites FROM "{CompletionCriteria._meta.db_table}"'
            "  WHERE course_id = %s),"
            f' EXISTS (SELECT 1 FROM "{Accommodation._meta.db_table}" WHERE membership_id = %s)'
            " FROM (SELECT 1) AS one"
            f' LEFT JOIN (SELECT * FROM "{Progress._meta.db_table}" WHERE membership_id = %s'
            "  ORDER BY as_of DESC LIMIT 1) AS pr ON true"
            f' LEFT JOIN (SELECT * FROM "{Pause._meta.db_table}" WHERE membership_id = %s'
            "  AND starts_on <= %s AND until >= %s ORDER BY until DESC LIMIT 1) AS pa ON true",
            [
                *items_params,
                membership.course_id,
                membership.pk,
                membership.pk,
                membership.pk,
                today,
                today,
            ],
        )
        row = cursor.fetchone()
    assert row is not None  # FROM (SELECT 1): always one row
    values = list(row)
    progress_values = values[: len(progress_fields)]
    pause_values = values[len(progress_fields) : len(progress_fields) + len(pause_fields)]
    items, prerequisites, accommodated = values[-3:]
    rows = json.loads(items) if isinstance(items, str) else items
    progress = instance_of(Progress, progress_fields, progress_values) if values[0] else None
    pause = instance_of(Pause, pause_fields, pause_values) if pause_values[0] else None
    view = _view(membership, progress, [tuple(r) for r in rows])
    return replace(view, gated=_gates(prerequisites), accommodated=bool(accommodated)), pause


def _gates(raw: Any) -> dict[int, frozenset[int]]:
    if isinstance(raw, str):  # a JSON column may come back as text
        raw = json.loads(raw)
    return {int(k): frozenset(int(v) for v in needs) for k, needs in (raw or {}).items()}


def _view(
    membership: Membership, progress: Progress | None, rows: list[tuple[Any, ...]]
) -> LearnerProgress:
    states = _item_states(membership, rows)
    pending = [s for s in states if not s.done]
    percent = progress.percent_complete if progress else 0.0
    return LearnerProgress(
        progress=progress,
        items=states,
        next_item=pending[0] if pending else None,
        milestones=[(m, percent + 1e-9 >= m) for m in MILESTONES],
        pace_words=_pace_words(progress),
    )


def _item_rows_sql(membership: Membership) -> tuple[str, list[Any]]:
    """The course's items in order, each with the learner's own events on it: (pk, title,
    external_id, kind, started, done, best, n). The learner's events are grouped by item (the
    event store's course-person index); done is a done event (`DONE_EVENT`: a done verb or a
    success), best the best score."""
    done_verbs = sorted(DONE_VERBS)
    sql = (
        "SELECT i.id AS pk, i.title, i.external_id, i.kind, s.item_id IS NOT NULL AS started,"
        " coalesce(s.done, 0) AS done, s.best AS best,"
        " row_number() OVER (ORDER BY i.position, i.id) AS n"
        f' FROM "{Item._meta.db_table}" i LEFT JOIN ('
        "  SELECT item_id, max(CASE WHEN verb IN"
        f" ({', '.join(['%s'] * len(done_verbs))}) OR success THEN 1 ELSE 0 END) AS done,"
        "  max(score) AS best"
        f'  FROM "{Activity._meta.db_table}"'
        "  WHERE course_id = %s AND person_id = %s AND item_id IS NOT NULL GROUP BY item_id"
        " ) s ON s.item_id = i.id"
        " WHERE i.course_id = %s AND NOT i.is_tool_lineitem"
    )
    return sql, [*done_verbs, membership.course_id, membership.person_id, membership.course_id]


def _item_rows(membership: Membership) -> list[tuple[Any, ...]]:
    sql, params = _item_rows_sql(membership)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY n", params)
        return [tuple(r) for r in cursor.fetchall()]


def _item_states(membership: Membership, rows: list[tuple[Any, ...]]) -> list[ItemState]:
    """Each item's state from its row; an item is also done by a best score at its pass mark
    (the course's criteria are read only when some item has a score)."""
    best = {r[0]: r[6] for r in rows if r[6] is not None}
    by_score = crit.done_by_score(setup_of(membership.course).criteria, best) if best else ()
    return [
        ItemState(
            title=title or external_id,
            kind=kind,
            done=bool(done) or pk in by_score,
            started=bool(started),
            url=external_id if external_id.startswith(("https://", "http://")) else "",
            item_id=pk,
        )
        for pk, title, external_id, kind, started, done, *_ in rows
    ]


def page_extras(
    membership: Membership,
) -> tuple[Membership, dict[int, frozenset[int]], Accommodation | None]:
    """The membership with its course and person (which the page shows), the course's item
    prerequisites (item id -> the items to finish first) and the learner's accommodation, in
    one statement; a second only for an accommodated learner."""
    prerequisites = CompletionCriteria.objects.filter(course_id=OuterRef("course_id")).values(
        "item_prerequisites"
    )[:1]
    row = (
        Membership.objects.select_related("course", "person")
        .annotate(
            prerequisites=Subquery(prerequisites, output_field=JSONField()),
            accommodated=Exists(Accommodation.objects.filter(membership_id=OuterRef("pk"))),
        )
        .get(pk=membership.pk)
    )
    gated = _gates(row.prerequisites)
    accommodation = (
        Accommodation.objects.filter(membership=row).first() if row.accommodated else None
    )
    return row, gated, accommodation


def with_locks(view: LearnerProgress, gated: dict[int, frozenset[int]]) -> LearnerProgress:
    """The view with a gated path's locked items marked (with what to finish first), their
    links removed, and the next step never a locked item."""
    if not gated:
        return view
    done = frozenset(s.item_id for s in view.items if s.done)
    titles = {s.item_id: s.title for s in view.items}
    items = [
        replace(s, url="", locked_reason="finish " + ", ".join(
            titles.get(m, f"item {m}") for m in sorted(gated[s.item_id] - done)) + " first")
        if not s.done and s.item_id in gated and not gated[s.item_id] <= done
        else s
        for s in view.items
    ]  # fmt: skip
    pending = [s for s in items if not s.done and not s.locked_reason]
    return replace(view, items=items, next_item=pending[0] if pending else None)


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
