"""Bulk inserts of plain rows, skipping rows whose unique key is already stored.

`bulk_create` builds a model instance per row and prepares every value in Python; for the
tens of thousands of rows a planning run or a backfill writes, that costs more than the
database's own work. On PostgreSQL large batches go through COPY into a temporary table and
one `INSERT … ON CONFLICT DO NOTHING`, small ones (an xAPI request's) through one multi-row
`INSERT … ON CONFLICT DO NOTHING`, without a temporary table's catalogue churn; elsewhere
through `bulk_create(ignore_conflicts=True)`. Either way every new row is stored once and
rows whose unique key is already stored are skipped (`upsert_rows` updates them instead).
`insert_new_rows` is for rows known to be new: COPY straight into the table, and a stored key
is an error. Callers whose values are of their columns' exact kinds may ask for a binary COPY
(`binary=True`). JSON values are written with orjson: NaN and infinities become null.
`server_cursor` is the raw psycopg cursor for large values and results that Django's cursors
would bind into the SQL text or read back as text (the facts snapshot, the fact aggregates).
`columns_of` and `instance_of` read a model's row back from a hand-written statement that
joins several tables (the launch and the learner's landing page, one statement each).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, TypeVar

import numpy as np
import orjson
import psycopg
from django.db import connection, models, transaction
from django.db.models import Field
from django.utils import timezone
from psycopg.types.json import Json, Jsonb

M = TypeVar("M", bound=models.Model)

BATCH = 2000
# Column types whose values `_copy` sends packed when the caller asks: types whose Python
# values callers hand over as they are (no uuid or numeric, which arrive as strings).
BINARY_COPY_TYPES = frozenset(
    {"bigint", "integer", "smallint", "boolean", "double precision", "date", "json", "jsonb"}
    | {"timestamp with time zone", "varchar", "text"}
)
SMALL = 500  # up to this many rows, one INSERT statement rather than COPY


@contextmanager
def server_cursor() -> Iterator[psycopg.Cursor[Any]]:
    """A psycopg cursor on Django's PostgreSQL connection that sends parameters apart from the
    SQL and can read in binary (`execute(..., binary=True)`). Django's own cursors bind values
    into the SQL text and read text: a large `bytea` travels as hex, and every number is
    formatted by the server and parsed again. Django's query log does not see this cursor."""
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def fetch_rows(queryset: models.QuerySet[Any]) -> list[tuple[Any, ...]]:
    """A `values_list` queryset's rows, on PostgreSQL read in binary through `server_cursor`:
    psycopg's C loaders rather than Django's text path and Python time-zone loader (a
    course's 5,000 enrolments in 8 ms rather than 31). Values come as psycopg loads them,
    without fields' `from_db_value`: only for plain columns (ids, numbers, text, dates,
    aware datetimes). Elsewhere, the queryset's own rows."""
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with server_cursor() as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> int:
    """Insert `rows` (values in `fields` order, by attname: "course_id") into `model`'s table,
    skipping rows whose unique key is already stored.

    Columns not named take their field's default (auto_now/auto_now_add: now). Values must
    be what the field stores: datetimes, ids, strings, and JSON-ready data for JSONFields.
    Returns the number of rows inserted on PostgreSQL; elsewhere the number offered, as
    `bulk_create` cannot tell (callers needing exact counts drop stored keys first).
    """
    return _write(model, fields, rows, unique=None)


def upsert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    unique: Sequence[str],
    *,
    binary: bool = False,
) -> None:
    """Insert `rows`, or where a row with the same `unique` values exists, update its named
    fields (the others keep their values). As `insert_rows` otherwise; `binary` as for
    `insert_new_rows`."""
    _write(model, fields, rows, unique=unique, binary=binary)


def insert_new_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    binary: bool = False,
) -> None:
    """Insert `rows` that the caller knows are all new (say, a day nobody has written yet,
    under a lock): on PostgreSQL COPY goes straight into the table, with no staging table and
    no conflict handling, about half the database's work. A stored key raises IntegrityError.

    `binary`: COPY sends the values packed in PostgreSQL's binary format rather than as text
    for the server to parse (cheaper on both sides). The caller vouches that every value is
    already of its column's exact kind: an aware datetime for a timestamp, a date for a date,
    a str for text, an int within range for an integer; a table with a column type not in
    `BINARY_COPY_TYPES` goes as text all the same."""
    _write(model, fields, rows, unique=None, new=True, binary=binary)


def _write(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    unique: Sequence[str] | None,
    new: bool = False,
    binary: bool = False,
) -> int:
    columns = [f for f in model._meta.concrete_fields if not f.primary_key]
    unknown = set(fields) - {f.attname for f in columns}
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    if not rows:
        return 0
    full = _row_filler(columns, fields)
    if connection.vendor != "postgresql":
        attnames = [f.attname for f in columns]
        objs = [model(**dict(zip(attnames, full(row), strict=True))) for row in rows]
        if unique is None:
            model._default_manager.bulk_create(objs, batch_size=BATCH, ignore_conflicts=not new)
        else:
            model._default_manager.bulk_create(
                objs,
                batch_size=BATCH,
                update_conflicts=True,
                unique_fields=[_field_name(model, f) for f in unique],
                update_fields=[_field_name(model, f) for f in fields if f not in unique],
            )
        return len(rows)
    # A `json` column (not `jsonb`) takes its value as text, not parsed on the way in.
    json_at = [
        (i, Json if f.db_type(connection) == "json" else Jsonb)
        for i, f in enumerate(columns)
        if isinstance(f, models.JSONField)
    ]

    def db_values(row: Sequence[Any]) -> list[Any]:
        values = full(row)
        for i, wrap in json_at:
            values[i] = wrap(values[i], dumps=_json_dumps)
        return values

    table = model._meta.db_table
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in columns)
    keys: list[str] = []
    if new:
        conflict = ""
    elif unique is None:
        conflict = "ON CONFLICT DO NOTHING"
    else:
        column_of = {f.attname: str(f.column) for f in columns}
        keys = [column_of[f] for f in unique]
        updates = ", ".join(
            f"{quote(column_of[f])} = EXCLUDED.{quote(column_of[f])}"
            for f in fields
            if f not in unique
        )
        conflict = f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {updates}"
    with transaction.atomic(), connection.cursor() as cursor:
        if len(rows) <= SMALL:
            if unique is not None:  # upserts lock rows in key order: no deadlocks
                at = [fields.index(f) for f in unique]
                rows = sorted(rows, key=lambda row: [row[i] for i in at])
            one = "(" + ", ".join(["%s"] * len(columns)) + ")"
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * len(rows))} {conflict}",
                [value for row in rows for value in db_values(row)],
            )
            return int(cursor.rowcount)
        if new:
            # Raw COPY bypasses Django's error translation: a stored key is IntegrityError.
            with connection.wrap_database_errors:
                _copy(cursor.cursor, f"COPY {table} ({names})", columns, rows, db_values, binary)
            return len(rows)
        stage = quote(f"stage_{table}")
        cursor.execute(f"CREATE TEMP TABLE {stage} AS SELECT {names} FROM {table} WITH NO DATA")
        _copy(cursor.cursor, f"COPY {stage} ({names})", columns, rows, db_values, binary)
        # Upserts take row locks in key order, so two concurrent writers cannot deadlock.
        order = f"ORDER BY {', '.join(quote(k) for k in keys)}" if unique is not None else ""
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} {order} {conflict}"
        )
        written = int(cursor.rowcount)
        cursor.execute(f"DROP TABLE {stage}")
        return written


def _copy(
    cursor: psycopg.Cursor[Any],
    statement: str,
    columns: Sequence[models.Field[Any, Any]],
    rows: Iterable[Sequence[Any]],
    db_values: Callable[[Sequence[Any]], list[Any]],
    binary: bool,
) -> None:
    """COPY `rows` as text, or in binary where the caller asks and every column's type
    allows it (see `insert_new_rows`)."""
    types = [str(f.db_type(connection)).split("(", 1)[0] for f in columns]
    binary = binary and all(t in BINARY_COPY_TYPES for t in types)
    with cursor.copy(f"{statement} FROM STDIN" + (" (FORMAT BINARY)" if binary else "")) as copy:
        if binary:
            copy.set_types(types)
        for row in rows:
            copy.write_row(db_values(row))


def _row_filler(
    columns: Sequence[models.Field[Any, Any]], fields: Sequence[str]
) -> Callable[[Sequence[Any]], list[Any]]:
    """A function from a row in `fields` order to all `columns`, defaults filled in."""
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
    return lambda row: [get(row) for get in fill]


def columns_of(model: type[M], alias: str) -> tuple[list[Field[Any, Any]], str]:
    """A model's concrete fields, and their columns as `alias."column", …` for a SELECT."""
    fields = list(model._meta.concrete_fields)
    return fields, ", ".join(f'{alias}."{f.column}"' for f in fields)


def instance_of(model: type[M], fields: Sequence[Field[Any, Any]], values: Sequence[Any]) -> M:
    """A model instance from its columns' values (in `columns_of` order), as the ORM makes
    one: JSON columns decoded. On PostgreSQL, whose driver returns the other values ready."""
    converted = [
        f.from_db_value(v, None, connection) if hasattr(f, "from_db_value") else v
        for f, v in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def _field_name(model: type[models.Model], attname: str) -> str:
    """ "membership_id" -> "membership" (bulk_create wants field names)."""
    for field in model._meta.concrete_fields:
        if field.attname == attname:
            return field.name
    return attname


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _json_dumps(value: Any) -> bytes:
    # orjson: a scoring pass writes tens of thousands of JSON values, and json.dumps was a
    # tenth of its time. Datetimes pass through to `_json_default`, as json.dumps wrote them.
    return orjson.dumps(value, default=_json_default, option=_JSON_OPTIONS)


def _json_default(value: Any) -> Any:
    """numpy scalars as their Python values; anything else (dates, datetimes) as its text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)
