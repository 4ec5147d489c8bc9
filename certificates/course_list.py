"""Staff's list of a course's issued certificates: searched, sorted and cut into pages in SQL.

A course issues a certificate per completion (and more on renewal and re-issue), so the list
is counted, ordered and paged by the database. The status a row shows is worked out in Python
(`eligibility.status_of`) for the page's rows only; sorting by status uses `status_rank`, the
same rules written as one SQL expression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Lower

from certificates import eligibility
from certificates.models import Certificate
from certificates.selectors import certificate_status
from lti_tool.db.paging import asked, page_of
from lti_tool.models import Course

SORTS: dict[str, tuple[Any, ...]] = {
    "-issued": ("-issued_at", "-pk"),  # newest first
    "issued": ("issued_at", "pk"),
    "name": (Lower("learner_name").asc(), "pk"),
    "-name": (Lower("learner_name").desc(), "-pk"),
    "expires": (F("expires_at").asc(nulls_last=True), "pk"),  # soonest first; never last
    "-expires": (F("expires_at").desc(nulls_last=True), "-pk"),
    "status": ("status_rank", "-issued_at", "pk"),
    "-status": ("-status_rank", "-issued_at", "pk"),
    "serial": ("serial",),
    "-serial": ("-serial",),
}
DEFAULT_SORT = "-issued"
# The order "status" sorts in: current certificates first.
STATUS_ORDER = (
    eligibility.VALID,
    eligibility.RENEWAL_REQUIRED,
    eligibility.EXPIRED,
    eligibility.REVOKED,
    eligibility.PENDING,
)


@dataclass(frozen=True)
class CertificateQuery:
    search: str = ""
    issued_from: date | None = None
    issued_to: date | None = None
    sort: str = DEFAULT_SORT
    page: int = 1


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def query_from(params: Mapping[str, str]) -> CertificateQuery:
    """The list's search, dates, sort and page as the query string carries them."""
    sort = params.get("sort", DEFAULT_SORT)
    return CertificateQuery(
        search=params.get("q", "").strip()[:100],
        issued_from=_date(params.get("from", "")),
        issued_to=_date(params.get("to", "")),
        sort=sort if sort in SORTS else DEFAULT_SORT,
        page=asked(params),
    )


@dataclass(frozen=True)
class CertificatePage:
    rows: list[tuple[Certificate, str]]  # each with its status in words
    total: int
    page: int
    pages: int


def matching(course: Course, q: CertificateQuery) -> QuerySet[Certificate]:
    """Every certificate of the course the search and dates match (all pages, unordered)."""
    found = Certificate.objects.filter(course=course)
    if q.search:
        found = found.filter(
            Q(learner_name__icontains=q.search) | Q(serial__icontains=q.search)
            | Q(person__email__icontains=q.search)
        )  # fmt: skip
    if q.issued_from:
        found = found.filter(issued_at__date__gte=q.issued_from)
    if q.issued_to:
        found = found.filter(issued_at__date__lte=q.issued_to)
    return found


def status_rank(now: datetime) -> Case:
    """`eligibility.status_of` as SQL, as a position in STATUS_ORDER (its checks in its order)."""
    rank = {status: n for n, status in enumerate(STATUS_ORDER)}
    return Case(
        When(revoked_at__isnull=False, then=Value(rank[eligibility.REVOKED])),
        When(signature="", then=Value(rank[eligibility.PENDING])),
        When(expires_at__lte=now, then=Value(rank[eligibility.EXPIRED])),
        When(renewal_from__lte=now, then=Value(rank[eligibility.RENEWAL_REQUIRED])),
        default=Value(rank[eligibility.VALID]),
        output_field=IntegerField(),
    )


def certificate_page(course: Course, q: CertificateQuery, *, now: datetime) -> CertificatePage:
    found = matching(course, q)
    total = found.count()
    page = page_of(total, q.page)
    if q.sort in ("status", "-status"):
        found = found.annotate(status_rank=status_rank(now))
    rows = found.select_related("person").order_by(*SORTS[q.sort])[page.first : page.last]
    words = eligibility.STATUS_WORDS
    return CertificatePage(
        rows=[(c, words[certificate_status(c, now=now)]) for c in rows],
        total=total,
        page=page.number,
        pages=page.pages,
    )
