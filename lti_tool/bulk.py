"""Bulk inserts of plain rows, skipping rows whose unique key is already stored.

`bulk_create` builds a model instance per row and prepares every value in Python; for the
tens of thousands of rows a planning run or a backfill writes, that costs more than the
database's own work. On PostgreSQL rows go through COPY into a temporary table and one
`INSERT … ON CONFLICT DO NOTHING`; elsewhere through `bulk_create(ignore_conflicts=True)`.
Either way the result is the same: every new row stored once, conflicting rows skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

BATCH = 2000


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert `rows` (values in `fields` order, by attname: "course_id") into `model`'s table.

    Columns not named take their field's default (auto_now/auto_now_add: now). Values must
    be what the field stores: datetimes, ids, strings, and JSON-ready data for JSONFields.
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

    if connection.vendor != "postgresql":
        attnames = [f.attname for f in columns]
        model._default_manager.bulk_create(
            [model(**dict(zip(attnames, full(row), strict=True))) for row in rows],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
        return
    json_columns = [i for i, f in enumerate(columns) if isinstance(f, models.JSONField)]
    table = model._meta.db_table
    names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
    stage = connection.ops.quote_name(f"stage_{table}")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE {stage} AS SELECT {names} FROM {table} WITH NO DATA")
        with cursor.cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                values = full(row)
                for i in json_columns:
                    values[i] = Jsonb(values[i])
                copy.write_row(values)
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ON CONFLICT DO NOTHING"
        )
        cursor.execute(f"DROP TABLE {stage}")
