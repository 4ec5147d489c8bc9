"""The instructor's roster: one page of a course's learners on a day, sorted and filtered in SQL.

A 10,000-learner course must open fast, so filtering, sorting, counting and paging run in the
database over the day's RiskScore rows (indexed by course, day and tier), with the Progress
columns joined by subquery; the last activity is looked up for the page's rows only.
Active learners with no score that day (enrolled since the last scoring pass) follow the scored
ones on every sort, by name, as "not scored yet".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Lower, NullIf

from completion.models import Activity, Progress, RiskScore
from completion.risk.selectors import fired_counts, with_fired
from lti_tool.db.paging import PER_PAGE, page_of
from lti_tool.models import Course, Membership, Role

SORTS: dict[str, tuple[str, ...]] = {
    "risk": ("probability", "membership_id"),
    "-risk": ("-probability", "membership_id"),
    "name": ("sort_name", "membership_id"),
    "-name": ("-sort_name", "membership_id"),
    "progress": ("percent_complete", "membership_id"),
    "-progress": ("-percent_complete", "membership_id"),
    "gap": ("-gap", "membership_id"),  # furthest behind first
    "-gap": ("gap", "membership_id"),
    "status": ("status", "probability", "membership_id"),
    "change": ("change", "membership_id"),  # biggest drop first
}
TIERS = ("red", "yellow", "green")
UNSCORED = "unscored"  # the tier filter's value for learners not scored yet


@dataclass(frozen=True)
class RosterQuery:
    day: date | None = None
    tier: str = ""
    status: str = ""
    reason: str = ""  # a signal code that fired that day
    search: str = ""
    section: str = ""  # Person.attributes["section"] (LTI custom claim or HR roster)
    group: str = ""  # Person.attributes["group"]
    sort: str = "risk"
    page: int = 1


FILTER_KEYS = ("tier", "status", "reason", "q", "section", "group", "as_of")


def query_from(params: Mapping[str, str], *, page: int = 1) -> RosterQuery:
    """The roster's filters as the page's query string carries them."""
    try:
        day = date.fromisoformat(params.get("as_of", ""))
    except ValueError:
        day = None
    return RosterQuery(
        day=day,
        tier=params.get("tier", ""),
        status=params.get("status", ""),
        reason=params.get("reason", ""),
        search=params.get("q", "").strip()[:100],
        section=params.get("section", "")[:200],
        group=params.get("group", "")[:200],
        sort=params.get("sort", "risk"),
        page=page,
    )


@dataclass(frozen=True)
class RosterRow:
    membership_id: int
    name: str
    email: str
    status: str
    status_label: str
    percent_complete: float
    expected_percent: float
    gap: float
    tier: str
    probability: float
    change: float | None
    reasons: list[str]
    last_activity: datetime | None


@dataclass(frozen=True)
class RosterPage:
    day: date | None
    rows: list[RosterRow]
    total: int  # matching the filters
    page: int
    pages: int
    tier_counts: dict[str, int]  # the whole course that day, before filters (and "unscored")
    statuses: list[tuple[str, str]]  # (status, label) present that day
    reasons: list[tuple[str, int]]  # fired signal codes that day, with counts
    sections: list[str]
    groups: list[str]


def latest_day(course: Course) -> date | None:
    return (
        RiskScore.objects.filter(course=course)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )


def _progress(day: date, field: str) -> Subquery:
    return Subquery(
        Progress.objects.filter(membership=OuterRef("membership"), as_of=day).values(field)[:1]
    )


def _base(course: Course, day: date) -> QuerySet[Any]:  # annotated: typed loosely
    return RiskScore.objects.filter(course=course, as_of=day).annotate(
        status=_progress(day, "status"),
        status_label=_progress(day, "status_label"),
        percent_complete=_progress(day, "percent_complete"),
        expected_percent=_progress(day, "expected_percent"),
        gap=_progress(day, "gap"),
        sort_name=_sort_name("membership__person"),
    )


def _sort_name(person: str) -> Lower:
    """What the roster sorts and searches names by: the name, or the email when it is blank."""
    return Lower(
        Coalesce(NullIf(f"{person}__name", Value("")), f"{person}__email", output_field=CharField())
    )


def _unscored_order(sort: str) -> tuple[str, str]:
    """Unscored learners have no risk, so every sort but a reversed name lists them A to Z."""
    return ("-sort_name" if sort == "-name" else "sort_name", "pk")


def roster_page(course: Course, q: RosterQuery, *, per_page: int = PER_PAGE) -> RosterPage:
    day = q.day or latest_day(course)
    everyone = (
        RiskScore.objects.filter(course=course, as_of=day) if day else RiskScore.objects.none()
    )
    counts = dict(everyone.values_list("tier").annotate(n=Count("pk")).order_by())
    found = _filtered(course, day, q) if day else everyone
    unscored = _unscored(course, day, q)
    scored_total, unscored_total = found.count(), unscored.count()
    unfiltered = q == RosterQuery(day=q.day, sort=q.sort, page=q.page)
    counts[UNSCORED] = (
        unscored_total if unfiltered else _unscored(course, day, RosterQuery(day=q.day)).count()
    )
    total = scored_total + unscored_total
    cut = page_of(total, q.page, per_page=per_page)
    start, end = cut.first, cut.last
    chunk: list[dict[str, Any]] = (
        _scored_rows(found, q.sort, start, min(end, scored_total)) if start < scored_total else []
    )
    if end > scored_total:
        chunk += (
            dict(r)
            for r in unscored.order_by(*_unscored_order(q.sort)).values(
                "person_id", membership_id=F("pk"), name=F("person__name"),
                email=F("person__email"),
            )[max(start - scored_total, 0) : end - scored_total]
        )  # fmt: skip
    last = _last_activity(course, [r["person_id"] for r in chunk])
    return RosterPage(
        day=day,
        rows=[_row(r, last.get(r["person_id"])) for r in chunk],
        total=total,
        page=cut.number,
        pages=cut.pages,
        tier_counts={t: counts.get(t, 0) for t in (*TIERS, UNSCORED)},
        statuses=sorted(
            set(
                Progress.objects.filter(course=course, as_of=day)
                .values_list("status", "status_label")
                .distinct()
            )
        )
        if day
        else [],
        reasons=fired_counts(everyone),
        sections=_attribute_values(course, "section"),
        groups=_attribute_values(course, "group"),
    )


def _scored_rows(found: QuerySet[Any], sort: str, start: int, end: int) -> list[dict[str, Any]]:
    return list(
        found.order_by(*SORTS.get(sort, SORTS["risk"])).values(
            "membership_id", "status", "status_label", "percent_complete", "expected_percent",
            "gap", "tier", "probability", "change", "reasons",
            name=F("membership__person__name"), email=F("membership__person__email"),
            person_id=F("membership__person_id"),
        )[start:end]
    )  # fmt: skip


def _unscored(course: Course, day: date | None, q: RosterQuery) -> QuerySet[Membership]:
    """Active learners without a score on `day` that the filters match: a status, a signal
    or a risk tier filter matches none of them (they have none yet). On a day chosen in the
    past, only those already enrolled by then."""
    learners = course.memberships.filter(role=Role.LEARNER, status=Membership.Status.ACTIVE)
    found = learners.alias(sort_name=_sort_name("person"))  # for the name filter and sort
    if q.status or q.reason or (q.tier and q.tier != UNSCORED):
        return found.none()
    if q.day is not None:
        found = found.filter(enrolled_at__date__lte=q.day)
    if day is not None:
        scored = RiskScore.objects.filter(membership=OuterRef("pk"), as_of=day)
        found = found.exclude(Exists(scored))
    if q.search:
        found = found.filter(sort_name__contains=q.search.lower())
    if q.section:
        found = found.filter(person__attributes__section=q.section)
    if q.group:
        found = found.filter(person__attributes__group=q.group)
    return found


def _filtered(course: Course, day: date, q: RosterQuery) -> QuerySet[Any]:
    found = _base(course, day)
    if q.tier == UNSCORED:
        return found.none()
    if q.tier in TIERS:
        found = found.filter(tier=q.tier)
    if q.status:
        found = found.filter(status=q.status)
    if q.reason:
        found = with_fired(found, q.reason)
    if q.search:
        found = found.filter(sort_name__contains=q.search.lower())
    if q.section:
        found = found.filter(membership__person__attributes__section=q.section)
    if q.group:
        found = found.filter(membership__person__attributes__group=q.group)
    return found


def matching_memberships(course: Course, q: RosterQuery) -> list[int]:
    """Every learner the roster's filters match (all pages), in the roster's order: the
    recipients of a bulk action on the filter."""
    day = q.day or latest_day(course)
    scored: list[int] = []
    if day is not None:
        ordered = _filtered(course, day, q).order_by(*SORTS.get(q.sort, SORTS["risk"]))
        scored = list(ordered.values_list("membership_id", flat=True))
    unscored = _unscored(course, day, q).order_by(*_unscored_order(q.sort))
    return scored + list(unscored.values_list("pk", flat=True))


def _attribute_values(course: Course, key: str) -> list[str]:
    """The distinct values of a learner attribute in the course (for the filter menus)."""
    values = (
        course.memberships.filter(role="learner")
        .exclude(**{f"person__attributes__{key}__isnull": True})
        .values_list(f"person__attributes__{key}", flat=True)
        .distinct()
    )
    return sorted({str(v) for v in values if v not in (None, "")})


def _last_activity(course: Course, person_ids: list[int]) -> dict[int, datetime]:
    if not person_ids:
        return {}
    return dict(
        Activity.objects.filter(course=course, person_id__in=person_ids)
        .values_list("person_id")
        .annotate(last=Max("occurred_at"))
        .order_by()
    )


def _row(r: dict[str, Any], last: datetime | None) -> RosterRow:
    return RosterRow(
        membership_id=r["membership_id"],
        name=r["name"] or r["email"] or f"learner {r['membership_id']}",
        email=r["email"] or "",
        status=r.get("status") or "",
        status_label=r.get("status_label") or "",
        percent_complete=r.get("percent_complete") or 0.0,
        expected_percent=r.get("expected_percent") or 0.0,
        gap=r.get("gap") or 0.0,
        tier=r.get("tier") or UNSCORED,
        probability=r.get("probability") or 0.0,
        change=r.get("change"),
        reasons=list(r.get("reasons") or [])[:3],
        last_activity=last,
    )
