"""Reads for completion criteria, progress and risk, scoped to what a launch may see.

`setup_of` turns a course's saved criteria and items into the pure `CourseSetup`; the other
selectors serve the API and pages (per course, per learner, history). Writes live in
`risk_services` and `scoring`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet
from django.db.models.lookups import GreaterThan

from completion.models import (
    Accommodation,
    CompletionCriteria,
    EnrolmentDetail,
    Item,
    Pause,
    Progress,
    RiskScore,
    ScheduleRevision,
    StatusOverride,
    TrainedRiskModel,
)
from completion.progress import criteria as crit
from completion.progress import criteria_check as check
from completion.progress import pace
from completion.risk.features import LearnerRecord
from completion.risk.model import EVENTS, EventPredictor, NotEnoughHistory, TrainedPredictor
from completion.risk.rules import RulesConfig
from completion.risk.scorecard import CourseSetup
from completion.risk.signals import FIRED_BIT, CourseContext, codes_in, from_stored
from lti_tool.models import Course, Membership, Role

CONTENT_KINDS = frozenset({"module", "page", "video", "other"})
TRACKED_KINDS = CONTENT_KINDS | {"assessment"}


def criteria_row(course: Course) -> CompletionCriteria:
    """The course's saved criteria, or unsaved defaults."""
    found = CompletionCriteria.objects.filter(course=course).first()
    return found if found is not None else CompletionCriteria(course=course)


def catalogue_of(course: Course) -> check.Catalogue:
    """What a course's criteria may name: its items and the deployment's other courses."""
    return check.Catalogue(
        course_id=course.pk,
        titles=dict(
            Item.objects.filter(course=course, is_tool_lineitem=False).values_list("pk", "title")
        ),
        courses=dict(
            Course.objects.filter(deployment_id=course.deployment_id)
            .exclude(pk=course.pk)
            .values_list("pk", "title")
        ),
    )


@dataclass(frozen=True)
class CriteriaItem:
    """An item as the criteria editor lists it, with what the LMS says of its date and mark."""

    id: int
    kind: str
    kind_label: str
    title: str
    section: str
    lms_due: date | None
    lms_pass_mark: float | None


def criteria_items(course: Course) -> list[CriteriaItem]:
    """The course's items in course order, for the criteria editor."""
    labels = dict(Item.Kind.choices)
    return [
        CriteriaItem(
            id=i,
            kind=k,
            kind_label=str(labels.get(k, k)),
            title=t or f"Item {i}",
            section=s,
            lms_due=d.date() if d else None,
            lms_pass_mark=m,
        )
        for i, k, t, s, d, m in Item.objects.filter(course=course, is_tool_lineitem=False)
        .order_by("position", "pk")
        .values_list("pk", "kind", "title", "section", "due_at", "pass_mark")
    ]


def item_due_dates(row: CompletionCriteria) -> dict[int, date]:
    """The due dates the course set per item (over the LMS's `Item.due_at`)."""
    return {int(k): date.fromisoformat(str(v)) for k, v in (row.item_due_dates or {}).items()}


def _ids(values: Iterable[Any]) -> frozenset[int]:
    return frozenset(int(v) for v in values)


def _dates(values: Iterable[Any]) -> frozenset[date]:
    return frozenset(date.fromisoformat(str(v)) for v in values)


def timeline_of(row: CompletionCriteria) -> pace.Timeline:
    return pace.Timeline(
        mode=row.timeline,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        duration_days=row.duration_days,
        skip_weekends=row.skip_weekends,
        blackout=_dates(row.blackout_dates or []),
        anchors=tuple(
            pace.Anchor(
                date.fromisoformat(str(a["on"])), float(a["share"]), str(a.get("label", ""))
            )
            for a in row.anchors or []
        ),
    )


def due_anchors(
    due: Mapping[int, date], criteria: crit.Criteria, timeline: pace.Timeline
) -> tuple[pace.Anchor, ...]:
    """Tracked items' due dates as points of the schedule: by each date, the weighted share
    of the items due by then is expected done. Dates the course's own anchors already set are
    left to them."""
    taken = {a.on for a in timeline.anchors}
    return tuple(
        pace.Anchor(on, crit.percent_of(criteria, frozenset(i for i, d in due.items() if d <= on))
                    / 100.0, "items due")
        for on in sorted(set(due.values()) - taken)
    )  # fmt: skip


def _day(moment: date) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def setup_of(course: Course, row: CompletionCriteria | None = None) -> CourseSetup:
    """Everything the pure scorer needs to know about a course."""
    row = row if row is not None else criteria_row(course)
    found = Item.objects.filter(course=course, is_tool_lineitem=False).values_list(
        "id", "kind", "title", "weight", "pass_mark", "due_at"
    )
    own_due = item_due_dates(row)
    rows = [(i, k, t, w, m, own_due.get(i, _day(d) if d else None)) for i, k, t, w, m, d in found]
    items = [(i, k, t) for i, k, t, *_ in rows]
    kinds = {i: k for i, k, _ in items}
    titles = {i: (t or f"item {i}") for i, _, t in items}
    required = _ids(row.required_item_ids or []) & kinds.keys()
    tracked = required or frozenset(i for i, k in kinds.items() if k in TRACKED_KINDS)
    start = frozenset(i for i, k in kinds.items() if k != "link") or frozenset(kinds)
    rules = RulesConfig.from_settings(row.rule_settings or {})
    criteria = crit.Criteria(
        tracked_items=tracked,
        required_items=required,
        content_items=frozenset(i for i, k in kinds.items() if k in CONTENT_KINDS),
        min_content_share=row.min_content_share,
        min_overall_score=row.min_overall_score,
        min_item_scores={int(k): float(v) for k, v in (row.min_item_scores or {}).items()},
        pass_marks={i: float(m) for i, _, _, _, m, _ in rows if m is not None},
        item_weights={i: float(w) for i, _, _, w, _, _ in rows if w is not None and i in tracked},
        required_submissions=_ids(row.required_submission_ids or []),
        min_time_seconds=60.0 * row.min_time_minutes,
        item_prerequisites={int(k): _ids(v) for k, v in (row.item_prerequisites or {}).items()},
        prerequisite_courses=_ids(row.prerequisite_course_ids or []),
        labels={**crit.DEFAULT_LABELS, **(row.status_labels or {})},
    )
    context = CourseContext(
        titles=titles,
        assessment_items=frozenset(i for i, k in kinds.items() if k == "assessment"),
        content_items=criteria.content_items,
        start_items=start,
        has_forum="forum" in kinds.values(),
        item_due={i: d for i, k, _, _, _, d in rows if d is not None and k == "assessment"},
        min_time_seconds=criteria.min_time_seconds,
        trend_window_days=rules.trend_window_days,
    )
    timeline = timeline_of(row)
    due = {i: d for i, _, _, _, _, d in rows if d is not None and i in tracked}
    if due:
        timeline = replace(
            timeline, anchors=(*timeline.anchors, *due_anchors(due, criteria, timeline))
        )
    return CourseSetup(
        course_id=course.pk,
        criteria=criteria,
        timeline=timeline,
        rules=rules,
        context=context,
        due_on=row.due_on,
        due_days_after_enrolment=row.due_days_after_enrolment,
    )


def learners_of(course: Course) -> QuerySet[Membership]:
    return Membership.objects.filter(course=course, role=Role.LEARNER).exclude(
        status=Membership.Status.DELETED
    )


def learners_on(course: Course, cutoff: datetime) -> QuerySet[Membership]:
    """Learners whose membership was valid just before `cutoff`: enrolled before it and not
    withdrawn (removed from the roster) before it. A learner who left stays in every earlier
    day's scoring, so backtests keep the very learners they are about."""
    return Membership.objects.filter(
        Q(status__in=[Membership.Status.ACTIVE, Membership.Status.INACTIVE])
        | Q(status_changed_at__gte=cutoff),
        course=course,
        role=Role.LEARNER,
        enrolled_at__lt=cutoff,
    )


def _scoped(model: Any, course: Course, membership_ids: Iterable[int] | None) -> QuerySet[Any]:
    """Rows of a per-membership model for a course, or for some of its memberships."""
    qs: QuerySet[Any] = model.objects.filter(membership__course=course)
    return qs if membership_ids is None else qs.filter(membership_id__in=list(membership_ids))


def pauses_by_membership(
    course: Course, membership_ids: Iterable[int] | None = None
) -> dict[int, tuple[pace.Pause, ...]]:
    found: dict[int, list[pace.Pause]] = {}
    for mid, start, until in _scoped(Pause, course, membership_ids).values_list(
        "membership_id", "starts_on", "until"
    ):
        found.setdefault(mid, []).append(pace.Pause(start, until))
    return {k: tuple(v) for k, v in found.items()}


def records_by_membership(
    course: Course, membership_ids: Iterable[int] | None
) -> dict[int, LearnerRecord]:
    """What enrolment records say (earlier attempts, study load), where imported."""
    return {
        m: LearnerRecord(prior_attempts=a, credits=c)
        for m, a, c in _scoped(EnrolmentDetail, course, membership_ids).values_list(
            "membership_id", "prior_attempts", "credits"
        )
    }


def multipliers_by_membership(
    course: Course, membership_ids: Iterable[int] | None = None
) -> dict[int, float]:
    """Each accommodated learner's stretch: the time multiplier over the reduced pace share,
    times the stretch of each revised schedule."""
    found = {
        mid: multiplier * 100 / max(pace_percent, 1)
        for mid, multiplier, pace_percent in _scoped(
            Accommodation, course, membership_ids
        ).values_list("membership_id", "time_multiplier", "pace_percent")
    }
    for mid, stretch in _scoped(ScheduleRevision, course, membership_ids).values_list(
        "membership_id", "stretch"
    ):
        found[mid] = found.get(mid, 1.0) * stretch
    return found


def extensions_by_membership(
    course: Course, membership_ids: Iterable[int] | None = None
) -> dict[int, int]:
    found = dict(
        _scoped(Accommodation, course, membership_ids)
        .filter(deadline_extension_days__gt=0)
        .values_list("membership_id", "deadline_extension_days")
    )
    for mid, days in (
        _scoped(ScheduleRevision, course, membership_ids)
        .filter(extension_days__gt=0)
        .values_list("membership_id", "extension_days")
    ):
        found[mid] = found.get(mid, 0) + days
    return found


def accommodation_of(membership: Membership) -> Accommodation | None:
    """The learner's accommodation profile, if staff set one."""
    return Accommodation.objects.filter(membership=membership).first()


def overrides_by_membership(
    course: Course, before: Any, membership_ids: Iterable[int] | None = None
) -> dict[int, str]:
    """The override in force at `before` (a datetime) per membership; cleared ones omitted."""
    latest: dict[int, str] = {}
    for mid, status in (
        _scoped(StatusOverride, course, membership_ids)
        .filter(at__lt=before)
        .order_by("membership_id", "at", "id")
        .values_list("membership_id", "status")
    ):
        latest[mid] = status
    return {k: v for k, v in latest.items() if v}


# --- reads for the API and pages ---------------------------------------------------------------


@dataclass(frozen=True)
class LearnerRow:
    membership_id: int
    person_id: int
    name: str
    as_of: date
    status: str
    status_label: str
    percent_complete: float
    expected_percent: float
    gap: float
    time_on_task_seconds: float
    score: float | None
    tier: str
    probability: float
    change: float | None
    reasons: list[str]
    model_used: str


def latest_day(course: Course) -> date | None:
    return (
        RiskScore.objects.filter(course=course)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )


def course_risk(course: Course, as_of: date | None = None) -> tuple[date | None, list[LearnerRow]]:
    """Every scored learner of the course on `as_of` (default: the newest scored day)."""
    day = as_of or latest_day(course)
    if day is None:
        return None, []
    progress = {p.membership_id: p for p in Progress.objects.filter(course=course, as_of=day)}
    rows = []
    for r in (
        RiskScore.objects.filter(course=course, as_of=day)
        .select_related("membership__person")
        .order_by("probability", "membership_id")
    ):
        p = progress.get(r.membership_id)
        if p is None:
            continue
        rows.append(_row(r, p))
    return day, rows


def _row(r: RiskScore, p: Progress) -> LearnerRow:
    person = r.membership.person
    return LearnerRow(
        membership_id=r.membership_id,
        person_id=person.pk,
        name=person.name or person.email or person.sub,
        as_of=r.as_of,
        status=p.status,
        status_label=p.status_label,
        percent_complete=p.percent_complete,
        expected_percent=p.expected_percent,
        gap=p.gap,
        time_on_task_seconds=p.time_on_task_seconds,
        score=p.score,
        tier=r.tier,
        probability=r.probability,
        change=r.change,
        reasons=list(r.reasons),
        model_used=r.model_used,
    )


def with_fired(scores: QuerySet[RiskScore], code: str) -> QuerySet[RiskScore]:
    """The scores on which signal `code` fired (none for an unknown code)."""
    bit = FIRED_BIT.get(code)
    if bit is None:
        return scores.none()
    return scores.alias(hit=F("fired_signals").bitand(bit)).filter(hit__gt=0)


def fired_counts(scores: QuerySet[RiskScore]) -> list[tuple[str, int]]:
    """How many of `scores` each signal fired on, most first, leaving out those that never did.
    Grouped by the stored bits, so Python sees one row per combination, not per learner."""
    counts: dict[str, int] = {}
    for mask, n in scores.values_list("fired_signals").annotate(n=Count("pk")).order_by():
        for code in codes_in(mask):
            counts[code] = counts.get(code, 0) + n
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


def fired_since(course: Course, day: date, *, days: int = 14) -> dict[int, dict[str, date]]:
    """The signals that fired for each learner on `day`, each with the first of the `days`
    days before it on which it fired too (not necessarily every day since)."""
    window = RiskScore.objects.filter(
        course=course, as_of__gte=day - timedelta(days=days), as_of__lte=day, fired_signals__gt=0
    )
    current = dict(window.filter(as_of=day).values_list("membership_id", "fired_signals"))
    # One grouped scan for the first day of each signal, per learner. (Joining the window to
    # today's learners instead let a planner short of statistics loop over both: minutes.)
    firsts = (
        window.values("membership_id")
        .order_by()
        .annotate(
            **{
                code: Min("as_of", filter=GreaterThan(F("fired_signals").bitand(bit), 0))
                for code, bit in FIRED_BIT.items()
            }
        )
    )
    return {
        row["membership_id"]: {code: row[code] for code in codes_in(mask)}
        for row in firsts
        if (mask := current.get(row["membership_id"]))
    }


def learner_risk(membership: Membership, as_of: date | None = None) -> dict[str, Any] | None:
    """A learner's progress, risk and every signal on a day (default: their newest)."""
    scores = RiskScore.objects.filter(membership=membership)
    risk = (
        (scores.filter(as_of=as_of) if as_of else scores.order_by("-as_of"))
        .select_related("membership__person")
        .first()
    )
    if risk is None:
        return None
    progress = Progress.objects.filter(membership=membership, as_of=risk.as_of).first()
    if progress is None:
        return None
    signals = from_stored(risk.signals)
    return {
        "row": _row(risk, progress),
        "due_on": progress.due_on,
        "unmet": progress.unmet,
        "items_done": progress.items_done,
        "items_total": progress.items_total,
        "signals": [
            {"code": r.code, "value": r.value, "threshold": r.threshold, "fired": r.fired}
            for r in signals
        ],
        "fired": [
            {"code": r.code, "value": r.value, "threshold": r.threshold, "reason": r.reason}
            for r in signals
            if r.fired
        ],
    }


def learner_history(membership: Membership, *, days: int = 90) -> list[Mapping[str, Any]]:
    """The learner's daily tier, probability and progress, oldest first."""
    progress = dict(
        Progress.objects.filter(membership=membership).values_list("as_of", "percent_complete")
    )
    return [
        {
            "as_of": d,
            "tier": t,
            "probability": p,
            "change": c,
            "reasons": r,
            "percent_complete": progress.get(d),
        }
        for d, t, p, c, r in reversed(
            RiskScore.objects.filter(membership=membership)
            .order_by("-as_of")
            .values_list("as_of", "tier", "probability", "change", "reasons")[:days]
        )
    ]


def predictor_of(
    course: Course, *, model_id: int | None = None
) -> TrainedPredictor | EventPredictor | None:
    """The newest model trained for the course, else for its deployment; None if neither.

    `model_id` picks a stored model of the same deployment (say, one trained on another course).
    """
    same_tenant = TrainedRiskModel.objects.filter(
        Q(course__deployment_id=course.deployment_id) | Q(deployment_id=course.deployment_id)
    )
    if model_id is not None:
        row = same_tenant.filter(pk=model_id).first()
    else:
        row = (
            same_tenant.filter(course=course).order_by("-trained_at").first()
            or same_tenant.filter(course__isnull=True).order_by("-trained_at").first()
        )
    if row is None:
        return None
    try:
        if row.algorithm == EVENTS:
            return EventPredictor(bytes(row.artefact), row.feature_names)
        return TrainedPredictor(bytes(row.artefact), row.importances, row.feature_names)
    except NotEnoughHistory:
        return None


def schedule_of(membership: Membership) -> tuple[date | None, list[ScheduleRevision]]:
    """The learner's current finish date (newest scored day) and their schedule revisions."""
    latest = Progress.objects.filter(membership=membership).order_by("-as_of").first()
    revisions = list(ScheduleRevision.objects.filter(membership=membership).order_by("at"))
    return (latest.due_on if latest else None), revisions
