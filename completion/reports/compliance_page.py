"""One page of the compliance report, read in SQL: the filters, the grouping, the order and the
summary counts are computed by the database, and only the page's learners are loaded and shaped.

A fixed number of queries whatever the number of learners: the filter options (one), the group
summary (one), the page's ids (one), and the page's facts (those of `compliance_facts`, for its
learners only). The expressions mirror the pure rules of `completion.reports.compliance` (a
row's status code, its attribute values, `UNSET`, the order of rows); the exports build every
row with those rules, and the tests hold the two to the same rows, groups and totals. Where they
may differ: a hire cohort is derived here only from a `hire_date` written YYYY-MM-DD, including
one that is no calendar day (30 February), while the exports take any form Python's
`date.fromisoformat` reads (20260203) and no impossible day. The HR roster import stores both
the date as YYYY-MM-DD and the cohort itself, so only a custom claim could bring such a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Concat, Lower, NullIf, Substr, Trim

from completion.models import Pause, Progress, StatusOverride
from completion.progress import criteria as crit
from completion.reports import compliance as reports
from completion.reports.selectors import compliance_facts, learners_in
from lti_tool.db.grouped import count_by, distinct_values
from lti_tool.db.paging import PER_PAGE, page_of
from lti_tool.models import Course, Membership

# Column sorts of the page (ties and the default: course, then learner).
SORTS: dict[str, tuple[Any, ...]] = {
    "learner": (Lower("learner").asc(),),
    "-learner": (Lower("learner").desc(),),
    "course": (Lower("course_title").asc(),),
    "-course": (Lower("course_title").desc(),),
    "status": ("code",),
    "-status": ("-code",),
    **{key: (Lower(key).asc(),) for key in reports.ATTRIBUTES},
    **{f"-{key}": (Lower(key).desc(),) for key in reports.ATTRIBUTES},
}
_TEXT: CharField[str, str] = CharField()
_QUARTERS = {f"{m:02d}": f"Q{(m - 1) // 3 + 1}" for m in range(1, 13)}
_ISO_DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_COUNTED = {  # GroupSummary field -> the status code it counts
    "completed": crit.COMPLETED,
    "exempt": "exempt",
    "paused": "paused",
    "overdue": crit.OVERDUE,
    "not_scored": "",
}


@dataclass(frozen=True)
class CompliancePage:
    """What the report page shows: the summary of every matching learner, and one page."""

    title: str
    generated_at: datetime
    filters: reports.ReportFilters
    count: int  # learners matching the filters
    groups: list[reports.GroupSummary]  # one ("All learners") if ungrouped
    total: reports.GroupSummary
    options: dict[str, list[str]]  # values present per attribute, before filtering
    rows: list[reports.ComplianceRow]  # the page, in report order
    page: int
    pages: int


def report_rows(courses: Sequence[Course], *, now: datetime) -> QuerySet[Membership]:
    """The courses' current learners annotated with their report values: `code` (the row's
    status code), `course_title`, `learner`, each attribute, and `key_<attribute>` (UNSET when
    blank). Unfiltered and unordered."""
    today, ids = now.astimezone(UTC).date(), [c.pk for c in courses]
    newest = Progress.objects.filter(membership=OuterRef("pk"), as_of__lte=today)
    # Not correlated with the row, so each is read once (PostgreSQL hashes them).
    paused = Pause.objects.filter(
        membership__course_id__in=ids, starts_on__lte=today, until__gte=today
    ).values("membership_id")
    rows = learners_in(ids).alias(
        is_exempt=Q(pk__in=_exempt(ids, now=now)),
        is_paused=Q(pk__in=paused),
        hired=Coalesce(_attribute("hire_date"), Value(""), output_field=_TEXT),
        own_cohort=_attribute_text("hire_cohort"),
    )
    rows = rows.alias(hired_month=Substr("hired", 6, 2)).alias(
        hired_quarter=Case(
            *(When(hired_month=m, then=Value(q)) for m, q in _QUARTERS.items()),
            default=Value(""),
            output_field=_TEXT,
        )
    )
    derived = Case(
        When(
            Q(hired__regex=_ISO_DAY) & ~Q(hired_quarter=""),
            then=Concat(Substr("hired", 1, 4), Value("-"), "hired_quarter", output_field=_TEXT),
        ),
        default=Value(""),
        output_field=_TEXT,
    )
    rows = rows.annotate(
        course_title=Coalesce(NullIf("course__title", Value("")), "course__context_id"),
        learner=Coalesce(
            NullIf("person__name", Value("")), NullIf("person__email", Value("")), "person__sub"
        ),
        code=Case(
            When(is_exempt=True, then=Value("exempt")),
            When(is_paused=True, then=Value("paused")),
            default=Coalesce(Subquery(newest.order_by("-as_of").values("status")[:1]), Value("")),
            output_field=_TEXT,
        ),
        department=_attribute_text("department"),
        job_role=_attribute_text("job_role"),
        location=_attribute_text("location"),
        hire_cohort=Case(When(own_cohort="", then=derived), default="own_cohort"),
    )
    return rows.annotate(
        key_course=F("course_title"),
        **{
            f"key_{key}": Case(When(**{key: ""}, then=Value(reports.UNSET)), default=F(key))
            for key in reports.ATTRIBUTES
        },
    )


def _exempt(course_ids: Sequence[int], *, now: datetime) -> QuerySet[StatusOverride, Any]:
    """Memberships whose override in force (the newest by time, then id) is "exempt" (an
    override to "completed" is a completion, shown as the course's status)."""
    later = StatusOverride.objects.filter(membership_id=OuterRef("membership_id"), at__lte=now)
    later = later.filter(Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk")))
    return (
        StatusOverride.objects.filter(
            membership__course_id__in=course_ids, at__lte=now, status=crit.EXEMPT
        )
        .exclude(Exists(later))
        .values("membership_id")
    )


def _attribute_text(key: str) -> Coalesce:
    """A reporting attribute as trimmed text, "" when unset (`reports.reporting_attributes`)."""
    return Coalesce(Trim(_attribute(key)), Value(""), output_field=_TEXT)


def _attribute(key: str) -> KeyTextTransform:
    return KeyTextTransform(key, "person__attributes")


def _filtered(rows: QuerySet[Membership], filters: reports.ReportFilters) -> QuerySet[Membership]:
    for key in reports.ATTRIBUTES:
        wanted = getattr(filters, key)
        if wanted:
            rows = rows.filter(**{f"key_{key}": wanted})
    return rows


def _summary(key: str, codes: dict[str, int]) -> reports.GroupSummary:
    """A group's counts from its learners per status code."""
    return reports.GroupSummary(
        key, sum(codes.values()), **{name: codes.get(code, 0) for name, code in _COUNTED.items()}
    )


def _sum(tallies: Iterable[dict[str, int]]) -> dict[str, int]:
    found: dict[str, int] = {}
    for tally in tallies:
        for code, n in tally.items():
            found[code] = found.get(code, 0) + n
    return found


def compliance_page(
    courses: Sequence[Course],
    *,
    filters: reports.ReportFilters,
    title: str,
    now: datetime,
    page: int = 1,
    per_page: int = PER_PAGE,
    sort: str = "",
) -> CompliancePage:
    """The summary of the learners matching `filters`, and page `page` of them (clamped), in
    `sort`'s order (a key of SORTS) within each group; by course and learner otherwise."""
    everyone = report_rows(courses, now=now).order_by()
    present = distinct_values(everyone, [f"key_{key}" for key in reports.ATTRIBUTES])
    options = {key: sorted(present[f"key_{key}"]) for key in reports.ATTRIBUTES}
    rows, by = _filtered(everyone, filters), filters.group_by
    counted: dict[str, dict[str, int]] = {}
    for *key, code, n in count_by(rows, [f"key_{by}", "code"] if by else ["code"]):
        tally = counted.setdefault(str(key[0]) if by else "All learners", {})
        tally[code] = tally.get(code, 0) + n
    groups = [_summary(key, counted[key]) for key in sorted(counted)]
    total = _summary("All learners", _sum(counted.values()))
    cut = page_of(total.learners, page, per_page=per_page)
    order = ((f"key_{by}",) if by else ()) + SORTS.get(sort, ())
    ids = list(
        rows.order_by(*order, Lower("course_title"), Lower("learner"), "pk").values_list(
            "pk", flat=True
        )[cut.first : cut.last]
    )
    shaped = {
        f.membership_id: reports.shape_row(f)
        for f in compliance_facts(courses, now=now, memberships=ids)
    }
    return CompliancePage(
        title=title,
        generated_at=now,
        filters=filters,
        count=total.learners,
        groups=groups,
        total=total,
        options=options,
        rows=[shaped[i] for i in ids if i in shaped],
        page=cut.number,
        pages=cut.pages,
    )
