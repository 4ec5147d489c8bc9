"""Counts of a queryset's rows per value of some of its columns, computed by the database.

Grouping an annotated queryset directly (`values(...).annotate(Count(...))`) repeats the
annotations in the SELECT and GROUP BY lists, and PostgreSQL costs correlated subqueries in
them once per row and once per estimated group: past its `jit_above_cost` (100,000) it then
compiles the query, which for a 10,000-learner course costs more than running it. Counting over
the queryset as a subquery computes each row's values once and keeps the estimate honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import QuerySet


def count_by(rows: QuerySet[Any], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """(value of each column..., rows) for each distinct combination of the columns' values."""
    sql, params = rows.order_by().values_list(*columns).query.sql_with_params()
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {names}, COUNT(*) FROM ({sql}) counted GROUP BY {names}", params)
        return [tuple(row) for row in cursor.fetchall()]


def distinct_values(rows: QuerySet[Any], columns: Sequence[str]) -> dict[str, set[Any]]:
    """The distinct values of each column, in one statement (one UNION branch per column)."""
    sql, params = rows.order_by().values_list(*columns).query.sql_with_params()
    branches = [
        f"SELECT DISTINCT {n}, {connection.ops.quote_name(c)} FROM ({sql}) d{n}"
        for n, c in enumerate(columns)
    ]
    found: dict[str, set[Any]] = {c: set() for c in columns}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(branches), list(params) * len(columns))
        for n, value in cursor.fetchall():
            found[columns[n]].add(value)
    return found
