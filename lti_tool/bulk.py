"""Bulk inserts of plain rows, skipping rows whose unique key is already stored.

`bulk_create` builds a model instance per row and prepares every value in Python; for the
tens of thousands of rows a planning run or a backfill writes, that costs more than the
database's own work. On PostgreSQL large batches go through COPY into a temporary table and
one `INSERT … ON CONFLICT DO NOTHING`, small ones (an xAPI request's) through one multi-row
`INSERT … ON CONFLICT DO NOTHING`, without a temporary table's catalogue churn; elsewhere
through `bulk_create(ignore_conflicts=True)`. Either way every new row is stored once and
rows whose unique key is already stored are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

BATCH = 2000
SMALL = 500  # up to this many rows, one INSERT statement rather than COPY


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> int:
    """Insert `rows` (values in `fields` order, by attname: "course_id") into `model`'s table.

    Columns not named take their field's default (auto_now/auto_now_add: now). Values must
    be what the field stores: datetimes, ids, strings, and JSON-ready data for JSONFields.
    Returns the number of rows inserted on PostgreSQL; elsewhere the number offered, as
    `bulk_create` cannot tell (callers needing exact counts drop stored keys first).
    """
    columns = [f for f in model._meta.concrete_fields if not f.primary_key]
    named = {f.attname for f in columns}
    unknown = set(fields) - named
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    position = {name: i for i, name in enumerate(fields)}
    now = timezone.now()

    def filler(field: models.Field[Any, Any]) -> Callable[[Sequence[Any]], Any]:
        if field.attname in position:
            return itemgetter(position[field.attname])
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return lambda row: now
        if field.has_default() and callable(field.default):
            factory = field.default  # dict, list: each row gets its own object
            return lambda row: factory()
        value = field.get_default()
        return lambda row: value

    fill = [filler(f) for f in columns]

    def full(row: Sequence[Any]) -> list[Any]:
        return [get(row) for get in fill]

    if not rows:
        return 0
    if connection.vendor != "postgresql":
        attnames = [f.attname for f in columns]
        model._default_manager.bulk_create(
            [model(**dict(zip(attnames, full(row), strict=True))) for row in rows],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
        return len(rows)
    json_columns = [i for i, f in enumerate(columns) if isinstance(f, models.JSONField)]

    def db_values(row: Sequence[Any]) -> list[Any]:
        values = full(row)
        for i in json_columns:
            values[i] = Jsonb(values[i])
        return values

    table = model._meta.db_table
    names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
    with transaction.atomic(), connection.cursor() as cursor:
        if len(rows) <= SMALL:
            one = "(" + ", ".join(["%s"] * len(columns)) + ")"
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * len(rows))} "
                "ON CONFLICT DO NOTHING",
                [value for row in rows for value in db_values(row)],
            )
            return int(cursor.rowcount)
        stage = connection.ops.quote_name(f"stage_{table}")
        cursor.execute(f"CREATE TEMP TABLE {stage} AS SELECT {names} FROM {table} WITH NO DATA")
        with cursor.cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(db_values(row))
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ON CONFLICT DO NOTHING"
        )
        inserted = int(cursor.rowcount)
        cursor.execute(f"DROP TABLE {stage}")
        return inserted
