"""Business outcomes counted in the database: one `Tally` per course, enrolment month and side
of the baseline period, with no learner loaded into Python.

One statement a report, whatever the number of learners. It mirrors `selectors.learner_outcomes`
and `attribution.outcome_of` (the per-learner path, kept for small reads and as the reference):
an enrolment is a (learner, course) pair from a learner membership or an imported enrolment
record, dated by its first day and priced by the sum of its recorded amounts; its re-enrolment
is the person's first enrolment on a later day (the lowest course id among that day's); its
deadline is the due date of the membership's newest progress by `today`, read for the course's
newest scored day as one range and probed per learner only for those not scored that day. The
tests hold both paths to the same figures on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, DecimalField, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Cast, TruncDate

from completion.models import Progress
from interventions.business.attribution import COMPLETED, NOT_COMPLETED, Economics, Tally
from interventions.models import EnrolmentRecord
from lti_tool.models import Course, Membership, Role

_CENTS = Decimal("0.01")
_WITHDRAWN = (Membership.Status.INACTIVE, Membership.Status.DELETED)


@dataclass(frozen=True)
class GroupTally:
    course_id: int
    month: str  # the enrolment month, "2026-01"
    in_baseline: bool
    tally: Tally


def _sql(rows: QuerySet[Any]) -> tuple[str, list[Any]]:
    sql, params = rows.query.sql_with_params()
    return sql, list(params)


def _enrolments(deployment_id: int, course_id: int | None) -> tuple[str, list[Any]]:
    """(person_id, course_id, day, amount, membership, withdrawn) of every learner membership
    and enrolment record: the deployment's, or those of the course's people (their other
    courses count as re-enrolments). Records have no membership."""
    memberships = Membership.objects.filter(course__deployment_id=deployment_id, role=Role.LEARNER)
    records = EnrolmentRecord.objects.filter(
        deployment_id=deployment_id, kind=EnrolmentRecord.Kind.ENROLMENT
    )
    if course_id is not None:
        anyone = EnrolmentRecord.objects.filter(deployment_id=deployment_id, course_id=course_id)
        people = Q(person_id__in=memberships.filter(course_id=course_id).values("person_id")) | Q(
            person_id__in=anyone.values("person_id")
        )
        memberships, records = memberships.filter(people), records.filter(people)
    columns = ("person_id", "course_id", "day", "amount", "membership", "withdrawn")
    days, days_params = _sql(
        memberships.annotate(
            day=TruncDate("enrolled_at", tzinfo=UTC),
            amount=Cast(Value(None), DecimalField(max_digits=12, decimal_places=2)),
            membership=F("pk"),
            withdrawn=Case(When(status__in=_WITHDRAWN, then=Value(1)), default=Value(0)),
        ).values_list(*columns)
    )
    recorded, recorded_params = _sql(
        records.annotate(
            day=F("on"),
            membership=Cast(Value(None), IntegerField()),
            withdrawn=Value(0),
        ).values_list(*columns)
    )
    union = f"SELECT * FROM ({days}) d UNION ALL SELECT * FROM ({recorded}) r"
    return union, days_params + recorded_params


def _facts(
    deployment_id: int, *, today: date, course_ids: Collection[int] | None, within: int | None
) -> tuple[str, list[Any]]:
    """One row per enrolment: course_id, day, outcome, refunded (0/1), refund_amount, later
    (1 when re-enrolled, else NULL) and later_amount. `within` narrows the people read to one
    course's; `course_ids` narrows the rows.

    Set-based throughout (PostgreSQL misjudges the size of grouped rows, and a nested loop
    over them costs seconds at 10,000 learners): the next enrolment comes from two windows
    over the person's enrolments, not a join; each course's newest scored day is one index
    probe and its rows one range read, joined by hash."""
    q, ops = connection.ops.quote_name, connection.ops
    progress, course = q(Progress._meta.db_table), q(Course._meta.db_table)
    enrolments, params = _enrolments(deployment_id, within)
    refunds, refund_params = _sql(
        EnrolmentRecord.objects.filter(
            deployment_id=deployment_id, kind=EnrolmentRecord.Kind.REFUND
        ).values_list("person_id", "course_id", "amount")
    )
    day = ops.adapt_datefield_value(today)
    marks = ", ".join(["%s"] * len(course_ids or ()))
    rows = "" if course_ids is None else f"WHERE p.course_id IN ({marks})"
    sql = f"""
    WITH src AS ({enrolments}),
    pairs AS (
      SELECT person_id, course_id, MIN(day) AS day, SUM(amount) AS amount,
             MAX(membership) AS membership, MAX(withdrawn) AS withdrawn
      FROM src GROUP BY person_id, course_id
    ),
    stepped AS (
      SELECT pairs.*, LEAD(day) OVER w AS next_day, LEAD(amount) OVER w AS next_amount
      FROM pairs WINDOW w AS (PARTITION BY person_id ORDER BY day, course_id)
    ),
    nexts AS (
      -- The row after the last of a day's enrolments is the first of the next day's.
      SELECT stepped.*, LAST_VALUE(next_day) OVER g AS later_day,
             LAST_VALUE(next_amount) OVER g AS later_amount
      FROM stepped WINDOW g AS (
        PARTITION BY person_id, day ORDER BY course_id
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ),
    refunds AS (
      SELECT person_id, course_id, SUM(amount) AS amount FROM ({refunds}) f
      GROUP BY person_id, course_id
    ),
    newest AS (
      SELECT c.id, (SELECT MAX(g.as_of) FROM {progress} g
                    WHERE g.course_id = c.id AND g.as_of <= %s) AS day
      FROM {course} c WHERE c.deployment_id = %s
    ),
    scored AS MATERIALIZED (
      SELECT g.membership_id, g.due_on FROM {progress} g
      JOIN newest n ON g.course_id = n.id AND g.as_of = n.day
    ),
    met AS MATERIALIZED (
      SELECT DISTINCT g.membership_id FROM {progress} g JOIN newest n ON g.course_id = n.id
      WHERE g.criteria_met = %s
    )
    SELECT p.course_id, p.day, f.amount AS refund_amount, p.later_amount,
      CASE WHEN p.later_day IS NULL THEN NULL ELSE 1 END AS later,
      CASE WHEN f.person_id IS NULL THEN 0 ELSE 1 END AS refunded,
      CASE
        WHEN e.membership_id IS NOT NULL THEN %s
        WHEN p.withdrawn = 1 OR f.person_id IS NOT NULL THEN %s
        WHEN (CASE WHEN s.membership_id IS NOT NULL THEN s.due_on ELSE (
                SELECT o.due_on FROM {progress} o WHERE o.membership_id = p.membership
                AND o.as_of <= %s ORDER BY o.as_of DESC LIMIT 1) END) < %s THEN %s
        ELSE %s
      END AS outcome
    FROM nexts p
    LEFT JOIN refunds f ON f.person_id = p.person_id AND f.course_id = p.course_id
    LEFT JOIN scored s ON s.membership_id = p.membership
    LEFT JOIN met e ON e.membership_id = p.membership
    {rows}
    """
    params = [
        *params,
        *refund_params,
        day,
        deployment_id,
        True,
        COMPLETED,
        NOT_COMPLETED,
        day,
        day,
        NOT_COMPLETED,
        "open",
        *(course_ids or ()),
    ]
    return sql, params


def _month(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"to_char({column}, 'YYYY-MM')"
    return f"SUBSTR({column}, 1, 7)"  # SQLite keeps dates as YYYY-MM-DD text


def tallies(
    deployment_id: int, *, today: date, economics: Economics, within: int | None = None
) -> list[GroupTally]:
    """The tally of each course, enrolment month and baseline side, in one statement: the
    deployment's, or only course `within`'s (reading only its people)."""
    course_ids = None if within is None else [within]
    facts, params = _facts(deployment_id, today=today, course_ids=course_ids, within=within)
    start, end = economics.baseline_start, economics.baseline_end
    if start is None or end is None:
        baseline, baseline_params = "0", []
    else:
        baseline = "CASE WHEN day >= %s AND day <= %s THEN 1 ELSE 0 END"
        baseline_params = [connection.ops.adapt_datefield_value(d) for d in (start, end)]
    c, n = f"outcome = '{COMPLETED}'", f"outcome = '{NOT_COMPLETED}'"
    counts = {
        "learners": "COUNT(*)",
        "completed": f"SUM(CASE WHEN {c} THEN 1 ELSE 0 END)",
        "not_completed": f"SUM(CASE WHEN {n} THEN 1 ELSE 0 END)",
        "completed_reenrolled": f"SUM(CASE WHEN {c} AND later = 1 THEN 1 ELSE 0 END)",
        "not_completed_reenrolled": f"SUM(CASE WHEN {n} AND later = 1 THEN 1 ELSE 0 END)",
        "completed_refunded": f"SUM(CASE WHEN {c} THEN refunded ELSE 0 END)",
        "not_completed_refunded": f"SUM(CASE WHEN {n} THEN refunded ELSE 0 END)",
        "priced_refunds": "COUNT(refund_amount)",
        "refund_total": "SUM(refund_amount)",
        "reenrolments": "COUNT(later)",
        "priced_reenrolments": "COUNT(later_amount)",
        "reenrolment_total": "SUM(later_amount)",
    }
    columns = ", ".join(counts.values())
    sql = (
        f"SELECT course_id, k, b, {columns} "
        f"FROM (SELECT *, {_month('day')} AS k, {baseline} AS b FROM ({facts}) e) t "
        "GROUP BY course_id, k, b"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Its row estimates over grouped and windowed rows are rough: past jit_above_cost
            # PostgreSQL compiles the statement, which costs more (140 ms) than running it.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, [*baseline_params, *params])
        found = cursor.fetchall()
    return [
        GroupTally(c, k, bool(b), Tally(**dict(zip(counts, map(_value, counts, row), strict=True))))
        for c, k, b, *row in found
    ]


def _value(name: str, value: Any) -> Any:
    if not name.endswith("_total"):
        return int(value or 0)
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(_CENTS)  # SQLite sums decimals as floats
