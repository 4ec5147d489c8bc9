"""Storing xAPI statements: a batch whole or not at all, each id once, voiding honoured.

Each statement is kept as received plus what the LRS sets (`id`, `stored`, `authority`,
`version`, a default `timestamp`) for audit and GET; its engagement event goes to the event
store, where an actor not on the roster yet waits in `PendingActivity`. An id seen before with
the same statement is accepted again without a second copy; with another statement it is a
conflict (409). A voiding statement marks its target voided and removes the target's event
from the timeline (the raw statement stays); a target that arrives after its voiding statement
is stored voided. The batch costs a fixed number of queries, whatever its size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from psycopg.types.json import Jsonb

from completion.events import store_events
from completion.ingest import xapi
from completion.models import Activity, PendingActivity, Source, XapiStatement
from lti_tool.models import Deployment


class StatementConflict(Exception):
    """A statement id already stored with another statement (HTTP 409)."""


class StatementRejected(ValueError):
    """A batch the LRS refuses although each statement is well formed (HTTP 400)."""


@transaction.atomic
def store_statements(
    *,
    deployment_id: int,
    statements: Sequence[Mapping[str, Any]],
    authority: Mapping[str, Any],
    now: datetime | None = None,
) -> list[str]:
    """Store a batch of valid statements; return their ids in order."""
    now = now or timezone.now()
    batch = [xapi.normalise(s, stored=now, authority=authority) for s in statements]
    ids = [s["id"] for s in batch]
    if len(set(ids)) != len(ids):
        raise StatementRejected("the batch repeats a statement id")
    existing, voided_earlier = _known(deployment_id, ids)
    fresh = []
    for received, statement in zip(statements, batch, strict=True):
        known = existing.get(statement["id"])
        if known is None:
            fresh.append(statement)
        elif not xapi.same_statement(known, received):
            raise StatementConflict(f"statement {statement['id']} exists with other content")
    voided = _voided_ids(deployment_id, fresh, voided_earlier)
    _insert(deployment_id, fresh, voided, now)
    _void_stored(deployment_id, voided)
    events = [
        e
        for e in (xapi.to_event(s, stored=now) for s in fresh if s["id"] not in voided)
        if e is not None
    ]
    if events:
        store_events(deployment=Deployment(pk=deployment_id), events=events)
    return ids


def _known(deployment_id: int, ids: list[str]) -> tuple[dict[str, Any], set[str]]:
    """Stored statements with these ids, and which of the ids stored voiding statements
    already void (such targets arrive late and are stored voided)."""
    if connection.vendor == "postgresql":
        rows = _known_rows_postgres(deployment_id, ids)
    else:
        found = XapiStatement.objects.filter(deployment_id=deployment_id)
        rows = [
            *(
                (str(i), None, p)
                for i, p in found.filter(statement_id__in=ids).values_list(
                    "statement_id", "payload"
                )
            ),
            *(
                (None, str(v), None)
                for v in found.filter(voids__in=ids).values_list("voids", flat=True)
            ),
        ]
    existing = {i: p for i, _, p in rows if i is not None}
    return existing, {v for _, v, _ in rows if v is not None}


def _known_rows_postgres(deployment_id: int, ids: list[str]) -> list[tuple[Any, Any, Any]]:
    # One round trip, ids passed as one string: the ORM's 200 quoted UUIDs and an OR'd plan
    # cost ten times more than the lookups themselves.
    sql = (
        f"SELECT statement_id::text, NULL, payload FROM {XapiStatement._meta.db_table} "
        "WHERE deployment_id = %s AND statement_id = ANY(string_to_array(%s, ',')::uuid[]) "
        f"UNION ALL SELECT NULL, voids::text, NULL FROM {XapiStatement._meta.db_table} "
        "WHERE deployment_id = %s AND voids = ANY(string_to_array(%s, ',')::uuid[])"
    )
    joined = ",".join(ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, [deployment_id, joined, deployment_id, joined])
        return [(i, v, json.loads(p) if isinstance(p, str) else p) for i, v, p in cursor.fetchall()]


def _voided_ids(deployment_id: int, fresh: list[dict[str, Any]], earlier: set[str]) -> set[str]:
    """Ids this batch voids (stored or in the batch) plus fresh ids voided earlier.

    A voiding statement cannot be voided: a batch that tries is refused; a voiding statement
    that arrives after a statement voiding it is stored and stays in force (XAPI-00016).
    """
    targets = {t for t in (xapi.voided_target(s) for s in fresh) if t}
    voiding = {s["id"] for s in fresh if xapi.voided_target(s)}
    outside = targets - {s["id"] for s in fresh}
    if outside:
        voiding |= {
            str(i)
            for i in XapiStatement.objects.filter(
                deployment_id=deployment_id, statement_id__in=outside, voids__isnull=False
            ).values_list("statement_id", flat=True)
        }
    bad = targets & voiding
    if bad:
        raise StatementRejected(
            f"statement {sorted(bad)[0]} is a voiding statement and cannot be voided"
        )
    return targets | (earlier - voiding)


def _insert(
    deployment_id: int, fresh: list[dict[str, Any]], voided: set[str], now: datetime
) -> None:
    """One bulk insert; on PostgreSQL a COPY, which is several times cheaper for JSON rows."""
    rows = [
        (deployment_id, s["id"], s, now, s["id"] in voided, xapi.voided_target(s)) for s in fresh
    ]
    if connection.vendor != "postgresql":
        XapiStatement.objects.bulk_create(
            [
                XapiStatement(
                    deployment_id=d, statement_id=i, payload=p, stored_at=t, voided=v, voids=w
                )
                for d, i, p, t, v, w in rows
            ]
        )
        return
    sql = (
        f"COPY {XapiStatement._meta.db_table} "
        "(deployment_id, statement_id, payload, stored_at, voided, voids) FROM STDIN"
    )
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for d, i, p, t, v, w in rows:
            copy.write_row((d, i, Jsonb(p), t, v, w))


def _void_stored(deployment_id: int, voided: set[str]) -> None:
    if not voided:
        return
    XapiStatement.objects.filter(
        deployment_id=deployment_id, statement_id__in=voided, voided=False
    ).update(voided=True)
    Activity.objects.filter(
        course__deployment_id=deployment_id, source=Source.XAPI, source_id__in=voided
    ).delete()
    PendingActivity.objects.filter(
        deployment_id=deployment_id, source=Source.XAPI, source_id__in=voided
    ).delete()


def find_statement(*, deployment_id: int, statement_id: str, voided: bool) -> dict[str, Any] | None:
    """GET ?statementId= (never a voided one) or ?voidedStatementId= (only a voided one)."""
    row = (
        XapiStatement.objects.filter(
            deployment_id=deployment_id, statement_id=statement_id, voided=voided
        )
        .values_list("payload", flat=True)
        .first()
    )
    return dict(row) if row is not None else None


def query_statements(
    *,
    deployment_id: int,
    verb: str = "",
    activity: str = "",
    registration: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    ascending: bool = False,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """A simple statement query (exact verb, object activity, registration, stored window)."""
    rows: QuerySet[XapiStatement] = XapiStatement.objects.filter(
        deployment_id=deployment_id, voided=False
    )
    if verb:
        rows = rows.filter(payload__verb__id=verb)
    if activity:
        rows = rows.filter(payload__object__id=activity)
    if registration:
        rows = rows.filter(payload__context__registration=registration)
    if since:
        rows = rows.filter(stored_at__gt=since)
    if until:
        rows = rows.filter(stored_at__lte=until)
    order = ("stored_at", "id") if ascending else ("-stored_at", "-id")
    return [dict(p) for p in rows.order_by(*order).values_list("payload", flat=True)[:limit]]
