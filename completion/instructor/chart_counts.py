"""Counts behind the course overview's charts, read in SQL: learners per tier on each scored
day, and learners by the day they were last active against how long they have been enrolled.
The drawing itself is `charts`' (pure geometry)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, DateTimeField, Func, IntegerField, OuterRef, Subquery, Value

from completion.instructor.roster import latest_day
from completion.models import Activity, RiskScore
from lti_tool.db.grouped import count_by
from lti_tool.models import Course


class WholeDays(Func):
    """Whole days from the second datetime to the first, rounded down (`timedelta.days`)."""

    output_field = IntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "FLOOR(EXTRACT(EPOCH FROM (%(expressions)s)) / 86400)::integer"
        return self.as_sql(compiler, connection, template=template, arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        (later, a), (earlier, b) = [compiler.compile(e) for e in self.get_source_expressions()]
        x = f"(julianday({later}) - julianday({earlier}))"
        # CAST truncates toward zero; one less below zero where that rounded up.
        return f"(CAST({x} AS INTEGER) - ({x} < CAST({x} AS INTEGER)))", [*a, *b] * 3


def last_active_counts(course: Course, *, now: datetime) -> dict[tuple[int, int], int]:
    """Learners per (day of enrolment last active, -1 if never; days enrolled by `now`).

    Counted in the database: one index probe per learner for the newest event (cheaper than
    an aggregate over every event), and a few dozen rows back instead of one per learner.
    """
    newest = (
        Activity.objects.filter(course=course, person=OuterRef("person"))
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    rows = (
        course.memberships.filter(role="learner")
        .alias(last=Subquery(newest))
        .annotate(
            last_day=WholeDays("last", "enrolled_at"),
            age=WholeDays(Value(now, output_field=DateTimeField()), "enrolled_at"),
        )
    )
    found: dict[tuple[int, int], int] = {}
    for last, age, n in count_by(rows, ["last_day", "age"]):
        key = (-1 if last is None else int(last), int(age))
        found[key] = found.get(key, 0) + int(n)
    return found


def tiers_per_day(course: Course, *, days: int = 60) -> list[tuple[date, dict[str, int]]]:
    """Learners per tier on each scored day. The days before the newest are settled: they are
    kept in the cache for an hour (a backfill that re-scores them shows within the hour)."""
    newest = latest_day(course)
    if newest is None:
        return []
    key = f"finishline:tiers-per-day:{course.pk}:{newest.isoformat()}:{days}"
    past: list[tuple[date, dict[str, int]]] | None = cache.get(key)
    if past is None:
        past = _tiers_between(course, newest - timedelta(days=days - 1), newest)
        cache.set(key, past, 3600)
    return past + _tiers_between(course, newest, newest + timedelta(days=1))


def _tiers_between(course: Course, first: date, end: date) -> list[tuple[date, dict[str, int]]]:
    per_day: dict[date, dict[str, int]] = {}
    for as_of, tier, n in (
        RiskScore.objects.filter(course=course, as_of__gte=first, as_of__lt=end)
        .values_list("as_of", "tier")
        .annotate(n=Count("pk"))
        .order_by("as_of")
    ):
        per_day.setdefault(as_of, {})[tier] = n
    return sorted(per_day.items())
