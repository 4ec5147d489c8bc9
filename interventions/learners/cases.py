"""The course's advisor cases for the interventions page: filtered by assignee, sorted by value,
age, learner or assignee, one page at a time in SQL; and the count waiting in today's digest.

Value is the caseload's order (`planning.caseload.value_order`), as stored on the case when it
was opened: the most escalated step first, then the learner furthest along, then the oldest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, F, QuerySet, Value
from django.db.models.functions import Coalesce, Lower, NullIf

from interventions.models import AdvisorCase
from lti_tool.db.paging import page_of

SORTS: dict[str, tuple[Any, ...]] = {
    "value": ("-tier", "-percent_complete", "opened_at", "pk"),
    "age": ("opened_at", "pk"),  # oldest first
    "-age": ("-opened_at", "-pk"),
    "name": ("learner_name", "pk"),
    "-name": ("-learner_name", "pk"),
    "assignee": (F("owner_name").asc(nulls_last=True), "opened_at", "pk"),
}
STATUSES = {"open": "Open and contacted", "digest": "In the daily digest", "resolved": "Resolved"}


@dataclass(frozen=True)
class CaseQuery:
    sort: str = "value"
    assignee: str = ""  # "", "mine", "none" (unassigned) or a person id
    status: str = "open"
    page: int = 1


@dataclass(frozen=True)
class CasePage:
    rows: list[AdvisorCase]
    total: int
    page: int
    pages: int
    assignees: list[tuple[int, str]]  # staff who own a case of the course
    in_digest: int  # cases over the daily cap waiting in today's digests


def _name(prefix: str) -> Any:
    return Lower(
        Coalesce(
            NullIf(f"{prefix}name", Value("")), f"{prefix}email", f"{prefix}sub",
            output_field=CharField(),
        )
    )  # fmt: skip


def _cases(course_id: int) -> QuerySet[AdvisorCase]:
    return AdvisorCase.objects.filter(membership__course_id=course_id)


def _by_status(cases: QuerySet[AdvisorCase], status: str) -> QuerySet[AdvisorCase]:
    if status == "digest":
        return cases.filter(status=AdvisorCase.Status.BATCHED)
    if status == "resolved":
        return cases.filter(status=AdvisorCase.Status.RESOLVED)
    return cases.filter(status__in=[AdvisorCase.Status.OPEN, AdvisorCase.Status.CONTACTED])


def case_page(course_id: int, q: CaseQuery, *, me: int) -> CasePage:
    """One page of the course's cases; `me` is the person "mine" means."""
    cases = _by_status(_cases(course_id), q.status)
    if q.assignee == "mine":
        cases = cases.filter(owner_id=me)
    elif q.assignee == "none":
        cases = cases.filter(owner__isnull=True)
    elif q.assignee.isdigit():
        cases = cases.filter(owner_id=int(q.assignee))
    total = cases.count()
    page = page_of(total, q.page)
    sort = q.sort if q.sort in SORTS else "value"
    # Names are computed only to sort by them (over every case, before the page is cut).
    if sort in ("name", "-name"):
        cases = cases.annotate(learner_name=_name("membership__person__"))
    elif sort == "assignee":
        cases = cases.annotate(owner_name=_name("owner__"))
    rows = cases.select_related("membership__person", "owner").order_by(*SORTS[sort])
    return CasePage(
        list(rows[page.first : page.last]), total, page.number, page.pages,
        _assignees(course_id), in_digest(course_id),
    )  # fmt: skip


def _assignees(course_id: int) -> list[tuple[int, str]]:
    owners = (
        _cases(course_id)
        .exclude(owner__isnull=True)
        .values_list("owner_id", "owner__name", "owner__sub")
        .distinct()
    )
    return sorted(((pk, name or sub) for pk, name, sub in owners), key=lambda o: o[1].lower())


def in_digest(course_id: int) -> int:
    """Cases over the daily cap not yet sent in a digest."""
    return _by_status(_cases(course_id), "digest").filter(digest_sent_at__isnull=True).count()
