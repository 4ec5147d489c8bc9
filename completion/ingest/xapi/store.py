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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from psycopg.types.json import Jsonb

from completion.events.store import store_events
from completion.ingest.xapi import activities
from completion.ingest.xapi import statements as xapi
from completion.ingest.xapi.statements import agent_identity
from completion.ingest.xapi.validation import parse_timestamp
from completion.models import (
    Activity,
    PendingActivity,
    Source,
    XapiActivity,
    XapiAttachment,
    XapiStatement,
)
from completion.risk import snapshot as facts_snapshot
from lti_tool.db.bulk import upsert_rows
from lti_tool.models import Deployment

__all__ = ["agent_identity"]  # re-exported: callers read it with the query types


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
    attachments: Mapping[str, bytes] | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Store a batch of valid statements and their attachment data (by SHA-2, checked by
    `check_attachments`); return the statements' ids in order."""
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
    _store_definitions(deployment_id, fresh, now)
    _store_attachments(deployment_id, batch, attachments or {}, now)
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
        (
            deployment_id,
            s["id"],
            s,
            now,
            s["id"] in voided,
            xapi.voided_target(s),
            xapi.referenced(s),
            xapi.actor_key(s) or "",
            xapi.object_key(s) or "",
        )
        for s in fresh
    ]
    if connection.vendor != "postgresql":
        XapiStatement.objects.bulk_create(
            [
                XapiStatement(
                    deployment_id=d,
                    statement_id=i,
                    payload=p,
                    stored_at=t,
                    voided=v,
                    voids=w,
                    target=r,
                    actor_key=a,
                    object_key=o,
                )
                for d, i, p, t, v, w, r, a, o in rows
            ]
        )
        return
    sql = (
        f"COPY {XapiStatement._meta.db_table} (deployment_id, statement_id, payload, "
        "stored_at, voided, voids, target, actor_key, object_key) FROM STDIN"
    )
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for d, i, p, t, v, w, r, a, o in rows:
            copy.write_row((d, i, Jsonb(p), t, v, w, r, a, o))


def _store_definitions(deployment_id: int, fresh: list[dict[str, Any]], now: datetime) -> None:
    """Merge the batch's activity definitions into what the LRS knows (GET /activities): one
    read per batch, and a write only for definitions that change."""
    named = {a for s in fresh for a, _ in activities.activities_of(s)}
    if not named:
        return
    known = dict(
        XapiActivity.objects.filter(
            deployment_id=deployment_id,
            activity_key__in=[xapi.activity_key(a) for a in named],
        ).values_list("activity_id", "definition")
    )
    changed = activities.merged_definitions(known, fresh)
    rows = sorted(  # one order for every writer, so concurrent batches cannot deadlock
        (deployment_id, xapi.activity_key(a), a, d, now) for a, d in changed.items()
    )
    upsert_rows(
        XapiActivity,
        ("deployment_id", "activity_key", "activity_id", "definition", "updated_at"),
        rows,
        ("deployment_id", "activity_key"),
    )


def known_activity(*, deployment_id: int, activity_id: str) -> dict[str, Any] | None:
    """The merged definition of an activity this LRS has seen defined, else None."""
    row = (
        XapiActivity.objects.filter(
            deployment_id=deployment_id, activity_key=xapi.activity_key(activity_id)
        )
        .values_list("definition", flat=True)
        .first()
    )
    return dict(row) if row is not None else None


def known_activities(*, deployment_id: int, activity_ids: Iterable[str]) -> dict[str, Any]:
    """The merged definitions of those activities this LRS has seen defined, by activity id."""
    keys = {xapi.activity_key(a) for a in activity_ids}
    if not keys:
        return {}
    rows = XapiActivity.objects.filter(deployment_id=deployment_id, activity_key__in=keys)
    return dict(rows.values_list("activity_id", "definition"))


def agent_names(*, deployment_id: int, identity: Mapping[str, Any], limit: int = 20) -> list[str]:
    """Names the agent was given in its latest statements as actor (newest first, each once)."""
    key = xapi.agent_key(identity, "Agent")
    if key is None:
        return []
    names = (
        XapiStatement.objects.filter(deployment_id=deployment_id, actor_key=key)
        .order_by("-stored_at")
        .values_list("payload__actor__name", flat=True)[:limit]
    )
    return list(dict.fromkeys(n for n in names if isinstance(n, str) and n))


def _store_attachments(
    deployment_id: int,
    statements: Sequence[Mapping[str, Any]],
    parts: Mapping[str, bytes],
    now: datetime,
) -> None:
    """Keep each part once per deployment; sending it again refreshes its age (retention)."""
    if not parts:
        return
    types = {
        str(a["sha2"]).lower(): str(a.get("contentType", "application/octet-stream"))
        for s in statements
        for a in s.get("attachments") or ()
    }
    upsert_rows(
        XapiAttachment,
        ("deployment_id", "sha2", "content_type", "content", "stored_at"),
        [
            (deployment_id, sha2, types.get(sha2, "application/octet-stream"), data, now)
            for sha2, data in sorted(parts.items())
        ],
        ("deployment_id", "sha2"),
    )


def attachments_of(
    *, deployment_id: int, statements: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str, bytes]]:
    """(sha2, content type, data) of the stored attachments the statements name, each once,
    in the order they are first named (attachments sent only as a fileUrl have none)."""
    named = list(
        dict.fromkeys(
            str(a["sha2"]).lower() for s in statements for a in s.get("attachments") or ()
        )
    )
    if not named:
        return []
    stored = {
        sha2: (content_type, bytes(content))
        for sha2, content_type, content in XapiAttachment.objects.filter(
            deployment_id=deployment_id, sha2__in=named
        ).values_list("sha2", "content_type", "content")
    }
    return [(sha2, *stored[sha2]) for sha2 in named if sha2 in stored]


def _void_stored(deployment_id: int, voided: set[str]) -> None:
    if not voided:
        return
    statements = XapiStatement.objects.filter(deployment_id=deployment_id, statement_id__in=voided)
    statements.filter(voided=False).update(voided=True)
    # The event store is keyed by time before source id: name each event's time too.
    events = [
        xapi.to_event(p, stored=parse_timestamp(p.get("stored")))
        for p in statements.values_list("payload", flat=True)
    ]
    gone = Activity.objects.filter(
        course__deployment_id=deployment_id,
        occurred_at__in={e.occurred_at for e in events if e is not None},
        source=Source.XAPI,
        source_id__in=voided,
    )
    courses = set(gone.values_list("course_id", flat=True))
    if courses:
        gone.delete()
        facts_snapshot.forget(courses)
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


# Where `related_agents` also looks for the agent, besides actor and object, with the
# objectType an agent there has when it names none (None: it must name one; an object
# without one is an Activity, a team is always a Group).
RELATED_AGENT_PLACES = {
    "authority": "Agent",
    "context__instructor": "Agent",
    "context__team": None,
    "object__actor": "Agent",
    "object__object": None,
    "object__context__instructor": "Agent",
    "object__context__team": None,
}
CONTEXT_ACTIVITY_LISTS = ("parent", "grouping", "category", "other")


@dataclass(frozen=True)
class StatementQuery:
    """The filters of GET /statements (xAPI 1.0.3 §2.1.3) that this LRS answers."""

    verb: str = ""
    activity: str = ""
    registration: str = ""
    related_activities: bool = False
    agent: Mapping[str, Any] | None = None  # an Agent or Identified Group, by its IFI
    related_agents: bool = False
    since: datetime | None = None
    until: datetime | None = None
    ascending: bool = False
    limit: int = 100


@dataclass(frozen=True)
class StatementPage:
    statements: list[dict[str, Any]]
    # (stored, row id) of the page's last statement when more follow, for the `more` link.
    next_after: tuple[datetime, int] | None


def _agent_filter(identity: Mapping[str, Any], related: bool) -> Q:
    """Statements where the agent stands in one of its places, with the same objectType.

    Actor and object through their indexed keys; the other places `related_agents` adds by
    reading the payloads."""
    key = xapi.agent_key(identity, None)
    where = Q(actor_key=key) | Q(object_key=key)
    if related:
        where |= _agent_in_related_places(identity)
    return where


def _agent_in_related_places(identity: Mapping[str, Any]) -> Q:
    kind = identity["objectType"]
    ifi = next((k, v) for k, v in identity.items() if k != "objectType")
    where = Q()
    for place, default_kind in RELATED_AGENT_PLACES.items():
        prefix = f"payload__{place}__"
        same_kind = Q(**{prefix + "objectType": kind})
        if default_kind == kind:
            same_kind |= Q(**{prefix + "objectType__isnull": True})
        key, value = ifi
        if key == "account":
            same_ifi = Q(
                **{
                    prefix + "account__homePage": value["homePage"],
                    prefix + "account__name": value["name"],
                }
            )
        elif key == "mbox_sha1sum":  # hex: stored as sent, in any case
            same_ifi = Q(**{prefix + key + "__iexact": value})
        else:
            same_ifi = Q(**{prefix + key: value})
        where |= same_kind & same_ifi
    return where


def _activity_filter(activity_id: str, related: bool) -> Q:
    """The object is the activity; when related, also a context activity, here or in a
    SubStatement (xAPI 1.0.3 §2.1.3 `related_activities`)."""
    where = Q(object_key=xapi.activity_key(activity_id))
    if not related:
        return where
    where |= Q(payload__object__objectType="SubStatement", payload__object__object__id=activity_id)
    for context in ("context", "object__context"):
        for key in CONTEXT_ACTIVITY_LISTS:
            where |= _in_activity_list(f"{context}__contextActivities__{key}", activity_id)
    return where


def _in_activity_list(path: str, activity_id: str) -> Q:
    """An activity in a contextActivities list (or the single activity allowed in its place)."""
    single = Q(**{f"payload__{path}__id": activity_id})
    if connection.vendor == "postgresql":
        return single | Q(**{f"payload__{path}__contains": [{"id": activity_id}]})
    # SQLite's JSON1 has no containment: walk the array. Its elements were validated as
    # Activity objects on the way in, so each has an id to extract.
    json_path = "$." + path.replace("__", ".")
    in_array = RawSQL(
        "EXISTS (SELECT 1 FROM json_each(CASE WHEN json_type(payload, %s) = 'array' "
        "THEN json_extract(payload, %s) ELSE '[]' END) AS e "
        "WHERE json_extract(e.value, '$.id') = %s)",
        (json_path, json_path, activity_id),
        output_field=BooleanField(),
    )
    return single | Q(in_array)


MAX_REFERENCE_DEPTH = 10


def _matching_or_targeting(deployment_id: int, filters: Q) -> Q:
    """Statements meeting `filters`, or targeting (through a StatementRef object, at any
    depth) a statement that meets them, voided or not (Communication 2.1.3). One query per
    level of references to find where the chain ends; usually there is none."""
    everyone = XapiStatement.objects.filter(deployment_id=deployment_id)
    condition = filters
    targets = everyone.filter(filters).values("statement_id")
    for _ in range(MAX_REFERENCE_DEPTH):
        targeting = everyone.filter(target__in=targets)
        if not targeting.exists():
            break
        condition |= Q(target__in=targets)
        targets = targeting.values("statement_id")
    return condition


def query_statements(
    *, deployment_id: int, query: StatementQuery, after: tuple[datetime, int] | None = None
) -> StatementPage:
    """One page of a statement query, newest first unless ascending; `after` continues one."""
    filters = Q()
    if query.verb:
        filters &= Q(payload__verb__id=query.verb)
    if query.activity:
        filters &= _activity_filter(query.activity, query.related_activities)
    if query.registration:
        filters &= Q(payload__context__registration=query.registration)
    if query.agent is not None:
        filters &= _agent_filter(query.agent, query.related_agents)
    rows: QuerySet[XapiStatement] = XapiStatement.objects.filter(
        deployment_id=deployment_id, voided=False
    )
    if filters:
        rows = rows.filter(_matching_or_targeting(deployment_id, filters))
    if query.since:
        rows = rows.filter(stored_at__gt=query.since)
    if query.until:
        rows = rows.filter(stored_at__lte=query.until)
    if after is not None:
        stored, row_id = after
        if query.ascending:
            rows = rows.filter(Q(stored_at__gt=stored) | Q(stored_at=stored, id__gt=row_id))
        else:
            rows = rows.filter(Q(stored_at__lt=stored) | Q(stored_at=stored, id__lt=row_id))
    order = ("stored_at", "id") if query.ascending else ("-stored_at", "-id")
    found = list(rows.order_by(*order).values_list("payload", "stored_at", "id")[: query.limit + 1])
    page = found[: query.limit]
    more = len(found) > query.limit
    return StatementPage(
        statements=[dict(payload) for payload, _, _ in page],
        next_after=(page[-1][1], page[-1][2]) if more else None,
    )
