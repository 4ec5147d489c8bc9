"""PostgreSQL fast path for loading facts: the same two aggregates, one row per learner.

Grouping happens in SQL and each learner's days and items come back as arrays, so Python sees
one row per learner per query instead of one per learner-day and learner-item. Must return
exactly what `scoring.load_facts`' portable path returns (tested on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from completion.facts import CONSUME_VERBS, DONE_VERBS, Day, ItemFacts, LearnerFacts, cutoff_of

if TYPE_CHECKING:
    from completion.scoring import Enrolment

DAYS_SQL = """
SELECT person_id, array_agg(d ORDER BY d), array_agg(n ORDER BY d), array_agg(secs ORDER BY d),
       array_agg(posts ORDER BY d), array_agg(errors ORDER BY d)
FROM (
  SELECT person_id, (occurred_at AT TIME ZONE 'UTC')::date AS d, count(*) AS n,
         coalesce(sum(duration_seconds), 0) AS secs,
         count(*) FILTER (WHERE verb = 'posted') AS posts,
         count(*) FILTER (WHERE verb = 'errored') AS errors
  FROM completion_activity
  WHERE course_id = %s AND occurred_at < %s {people}
  GROUP BY 1, 2
) t
GROUP BY person_id
"""

ITEMS_SQL = """
SELECT person_id, array_agg(item_id), array_agg(first_at), array_agg(done_at),
       array_agg(consumed), array_agg(submitted), array_agg(attempted), array_agg(passed),
       array_agg(failed), array_agg(best), array_agg(secs)
FROM (
  SELECT person_id, item_id, extract(epoch FROM min(occurred_at))::float8 AS first_at,
         extract(epoch FROM min(occurred_at) FILTER (WHERE verb = ANY(%s)))::float8 AS done_at,
         count(*) FILTER (WHERE verb = ANY(%s)) AS consumed,
         count(*) FILTER (WHERE verb = 'submitted') AS submitted,
         count(*) FILTER (WHERE verb = 'attempted') AS attempted,
         count(*) FILTER (WHERE verb = 'passed') AS passed,
         count(*) FILTER (WHERE verb = 'failed') AS failed,
         max(score) AS best, coalesce(sum(duration_seconds), 0) AS secs
  FROM completion_activity
  WHERE course_id = %s AND occurred_at < %s AND item_id IS NOT NULL {people}
  GROUP BY 1, 2
) t
GROUP BY person_id
"""


def _fetch(sql: str, params: list[Any], person_ids: list[int] | None) -> list[tuple[Any, ...]]:
    people = ""
    if person_ids is not None:
        people = "AND person_id = ANY(%s)"
        params = [*params, person_ids]
    with transaction.atomic(), connection.cursor() as cursor:
        # JIT compiling costs about a second per query here and saves nothing.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql.format(people=people), params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


def stamp(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def load_facts_pg(
    course_id: int, as_of: date, people: Sequence[Enrolment], *, subset: bool = False
) -> list[LearnerFacts]:
    cutoff = cutoff_of(as_of)
    person_ids = [p.person_id for p in people] if subset else None
    days: dict[int, tuple[Day, ...]] = {}
    for pid, ds, ns, secs, posts, errors in _fetch(DAYS_SQL, [course_id, cutoff], person_ids):
        days[pid] = tuple(map(Day, ds, ns, map(float, secs), posts, errors))
    items: dict[int, dict[int, ItemFacts]] = {}
    params = [sorted(DONE_VERBS), sorted(CONSUME_VERBS), course_id, cutoff]
    for row in _fetch(ITEMS_SQL, params, person_ids):
        pid, ids, first, done, consumed, submitted, attempted, passed, failed, best, secs = row
        # Epoch seconds, not timestamps: Django's timestamptz loader is pure Python and slow.
        items[pid] = {
            i: ItemFacts(
                i,
                stamp(f),
                None if dn is None else stamp(dn),
                c > 0,
                sb > 0,
                max(a, p + fl),
                fl,
                b,
                float(s),
            )
            for i, f, dn, c, sb, a, p, fl, b, s in zip(
                ids,
                first,
                done,
                consumed,
                submitted,
                attempted,
                passed,
                failed,
                best,
                secs,
                strict=True,
            )
        }
    return [
        LearnerFacts(
            p.membership_id,
            p.person_id,
            p.enrolled_at,
            days.get(p.person_id, ()),
            items.get(p.person_id, {}),
        )
        for p in people
    ]
