"""Storing engagement events: resolve course, person and item, then append, once.

Resolution is batched (one query per kind for a whole batch) so the HTTP endpoints and imports
stay fast. An event whose course or person is not known yet goes to `PendingActivity` and is
moved into `Activity` by `match_pending` after the next roster sync or launch: nothing is
dropped. Duplicates (same course, time, source and source id) are stored once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from completion.data import ActorRef, EngagementEvent, StoreResult
from completion.models import Activity, Item, PendingActivity
from lti_tool.db.bulk import insert_rows
from lti_tool.models import Course, Deployment, Membership, Person
from lti_tool.ops import metrics

KIND_BY_SOURCE_DEFAULT = "other"
T = TypeVar("T")
ACTIVITY_FIELDS = (
    "course_id",
    "person_id",
    "item_id",
    "verb",
    "occurred_at",
    "received_at",
    "duration_seconds",
    "score",
    "success",
    "count",
    "source",
    "source_id",
)
UNIQUE_KEY = ("course_id", "occurred_at", "source", "source_id")  # activity_source_key


@transaction.atomic
def store_events(*, deployment: Deployment, events: Sequence[EngagementEvent]) -> StoreResult:
    """Append a batch of events for one deployment. Idempotent."""
    if not events:
        return StoreResult()
    now = timezone.now()
    courses = resolve_courses(deployment, {e.course_key for e in events})
    people = resolve_people(deployment, [e.actor for e in events])
    items = resolve_items(courses, events)
    rows: list[tuple[Any, ...]] = []
    pending: list[PendingActivity] = []
    for event in events:
        course = courses.get(event.course_key)
        person = people.get(event.actor)
        if course is None or person is None:
            pending.append(_pending(deployment, course, event, now))
            continue
        item = items.get((course.pk, event.item_id))
        rows.append(activity_row(event, course.pk, person.pk, item.pk if item else None, now))
    # PostgreSQL counts what ON CONFLICT skipped; elsewhere stored keys are dropped first.
    offered = rows if connection.vendor == "postgresql" else _without_existing(rows)
    stored = insert_rows(Activity, ACTIVITY_FIELDS, offered)
    PendingActivity.objects.bulk_create(pending, ignore_conflicts=True, batch_size=1000)
    metrics.EVENTS_INGESTED.labels("stored").inc(stored)
    metrics.EVENTS_INGESTED.labels("duplicate").inc(len(rows) - stored)
    metrics.EVENTS_INGESTED.labels("pending").inc(len(pending))
    return StoreResult(stored=stored, duplicate=len(rows) - stored, pending=len(pending))


def activity_row(
    event: EngagementEvent, course_id: int, person_id: int, item_id: int | None, now: datetime
) -> tuple[Any, ...]:
    """An event, resolved, as an event-store row in ACTIVITY_FIELDS order."""
    return (
        course_id,
        person_id,
        item_id,
        event.verb,
        event.occurred_at,
        now,
        event.duration_seconds,
        event.score,
        event.success,
        event.times,
        event.source,
        event.source_id,
    )


# How Canvas Live Events name people, courses and assignments: Canvas's own ids, in global form
# (shard * 10**13 + local id). Launches store the local ids ($Canvas.user.id, $Canvas.course.id).
CANVAS_USER = "urn:instructure:canvas:user:"
CANVAS_COURSE = "urn:instructure:canvas:course:"
CANVAS_ASSIGNMENT = "urn:instructure:canvas:assignment:"
CANVAS_SHARD = 10**13


def canvas_local_id(name: str, prefix: str) -> str:
    """The local Canvas id in a `urn:instructure:canvas:<kind>:<id>` name, else ""."""
    if not name.startswith(prefix):
        return ""
    digits = name[len(prefix) :]
    return str(int(digits) % CANVAS_SHARD) if digits.isdigit() and len(digits) <= 30 else ""


def resolve_courses(deployment: Deployment, keys: Iterable[str]) -> dict[str, Course]:
    """Map course keys to the deployment's courses: an LTI context id; a Canvas course
    (`urn:instructure:canvas:course:N`, by the course's Canvas id); a Canvas assignment (by the
    course of the item it is)."""
    keys = set(keys)
    found = {
        c.context_id: c for c in Course.objects.filter(deployment=deployment, context_id__in=keys)
    }
    canvas = {canvas_local_id(k, CANVAS_COURSE): k for k in keys if k.startswith(CANVAS_COURSE)}
    canvas.pop("", None)
    if canvas:
        for course in Course.objects.filter(deployment=deployment, canvas_course_id__in=canvas):
            found[canvas[course.canvas_course_id]] = course
    assignments = {k for k in keys if k.startswith(CANVAS_ASSIGNMENT)}
    if assignments:
        for item in Item.objects.filter(
            course__deployment=deployment, external_id__in=assignments
        ).select_related("course"):
            found.setdefault(item.external_id, item.course)
    return found


def resolve_people(deployment: Deployment, actors: Iterable[ActorRef]) -> dict[ActorRef, Person]:
    """Map each actor to a person of the deployment by sub (or, for a Canvas user id, by the
    person's Canvas id), then sourced id, then email."""
    actors = set(actors)
    by_sub: dict[str, Person] = {}
    by_sourced: dict[str, Person] = {}
    by_email: dict[str, Person] = {}
    by_canvas = _by_canvas_id(deployment, actors)
    for part in _slices(sorted(actors)):
        subs = {a.sub for a in part if a.sub}
        emails = {a.email.lower() for a in part if a.email}
        sourced = {a.sourced_id for a in part if a.sourced_id}
        query = Q(sub__in=subs) | Q(sourced_id__in=sourced | subs) | Q(email__in=emails)
        for person in Person.objects.filter(query, deployment=deployment):
            by_sub[person.sub] = person
            if person.sourced_id:
                by_sourced[person.sourced_id] = person
            if person.email:
                by_email[person.email.lower()] = person
    found: dict[ActorRef, Person] = {}
    for actor in actors:
        match = (
            by_sub.get(actor.sub)
            or by_canvas.get(canvas_local_id(actor.sub, CANVAS_USER))
            or by_sourced.get(actor.sourced_id)
            or by_sourced.get(actor.sub)
            or by_email.get(actor.email.lower())
        )
        if match is not None:
            found[actor] = match
    return found


def _by_canvas_id(deployment: Deployment, actors: set[ActorRef]) -> dict[str, Person]:
    local = {canvas_local_id(a.sub, CANVAS_USER) for a in actors} - {""}
    if not local:
        return {}
    people = Person.objects.filter(deployment=deployment, canvas_user_id__in=local)
    return {p.canvas_user_id: p for p in people}


def resolve_items(
    courses: dict[str, Course], events: Sequence[EngagementEvent]
) -> dict[tuple[int, str], Item]:
    """Get or create the items the events name, in two queries per batch."""
    wanted: dict[tuple[int, str], EngagementEvent] = {}
    for event in events:
        course = courses.get(event.course_key)
        if course is not None and event.item_id:
            wanted.setdefault((course.pk, event.item_id), event)
    if not wanted:
        return {}
    existing = {
        (i.course_id, i.external_id): i
        for i in Item.objects.filter(
            course_id__in={k[0] for k in wanted}, external_id__in={k[1] for k in wanted}
        )
    }
    missing = [
        Item(
            course_id=course_id,
            external_id=item_id,
            kind=e.item_kind or KIND_BY_SOURCE_DEFAULT,
            title=e.item_title[:500],
            source=e.source,
        )
        for (course_id, item_id), e in wanted.items()
        if (course_id, item_id) not in existing
    ]
    if missing:
        Item.objects.bulk_create(missing, ignore_conflicts=True)
        existing.update(
            {
                (i.course_id, i.external_id): i
                for i in Item.objects.filter(
                    course_id__in={i.course_id for i in missing},
                    external_id__in={i.external_id for i in missing},
                )
            }
        )
    return existing


def _without_existing(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Drop rows already stored (and repeats within the batch) so counts are exact."""
    if not rows:
        return rows
    course, occurred, source, source_id = (ACTIVITY_FIELDS.index(f) for f in UNIQUE_KEY)
    stored: set[tuple[Any, ...]] = set()
    for part in _slices(rows):
        stored.update(
            Activity.objects.filter(
                course_id__in={r[course] for r in part},
                occurred_at__in={r[occurred] for r in part},
                source__in={r[source] for r in part},
                source_id__in={r[source_id] for r in part},
            ).values_list(*UNIQUE_KEY)
        )
    fresh = []
    for row in rows:
        key = (row[course], row[occurred], row[source], row[source_id])
        if key not in stored:
            stored.add(key)
            fresh.append(row)
    return fresh


LOOKUP_SLICE = 5000  # a query's IN lists stay far below SQLite's 32,766 bound variables


def _slices(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), LOOKUP_SLICE):
        yield values[start : start + LOOKUP_SLICE]


def _pending(
    deployment: Deployment, course: Course | None, event: EngagementEvent, now: datetime
) -> PendingActivity:
    return PendingActivity(
        deployment=deployment,
        course=course,
        course_key=event.course_key,
        actor_keys=event.actor.keys(),
        item_external_id=event.item_id,
        item_kind=event.item_kind,
        item_title=event.item_title[:500],
        verb=event.verb,
        occurred_at=event.occurred_at,
        received_at=now,
        duration_seconds=event.duration_seconds,
        score=event.score,
        success=event.success,
        count=event.times,
        source=event.source,
        source_id=event.source_id,
    )


def match_pending(*, deployment: Deployment, batch_size: int = 5000) -> StoreResult:
    """Move pending events whose course and person are now known into the event store."""
    total = StoreResult()
    last_id = 0
    while True:
        batch = list(
            PendingActivity.objects.filter(deployment=deployment, id__gt=last_id).order_by("id")[
                :batch_size
            ]
        )
        if not batch:
            return total
        last_id = batch[-1].pk
        events = [_event_of(p) for p in batch]
        courses = resolve_courses(deployment, {e.course_key for e in events})
        people = resolve_people(deployment, [e.actor for e in events])
        ready = [
            (p, e)
            for p, e in zip(batch, events, strict=True)
            if e.course_key in courses and e.actor in people
        ]
        with transaction.atomic():
            result = store_events(deployment=deployment, events=[e for _, e in ready])
            PendingActivity.objects.filter(pk__in=[p.pk for p, _ in ready]).delete()
        total = total + StoreResult(
            stored=result.stored, duplicate=result.duplicate, pending=len(batch) - len(ready)
        )


def _event_of(p: PendingActivity) -> EngagementEvent:
    return EngagementEvent(
        actor=ActorRef.from_keys(p.actor_keys),
        course_key=p.course_key,
        verb=p.verb,
        occurred_at=p.occurred_at,
        source=p.source,
        source_id=p.source_id,
        item_id=p.item_external_id,
        item_kind=p.item_kind,
        item_title=p.item_title,
        duration_seconds=p.duration_seconds,
        score=p.score,
        success=p.success,
        times=p.count,
    )


def record_launch_event(
    *,
    membership: Membership,
    resource_link_id: str,
    resource_link_title: str,
    occurred_at: datetime,
    nonce: str,
) -> None:
    """The launch itself as an event: the hot path of every launch, one statement when its
    item is known (on PostgreSQL), else the item is created first."""
    row = (
        membership.course_id,
        membership.person_id,
        None,  # the item: the resource link's, found or created below
        "launched",
        occurred_at,
        timezone.now(),
        None,
        None,
        None,
        None,  # count: one launch
        "lti",
        nonce or occurred_at.isoformat(),
    )
    if resource_link_id and _append_with_known_item(row, resource_link_id):
        return
    fields = dict(zip(ACTIVITY_FIELDS, row, strict=True))
    if resource_link_id:
        item, _ = Item.objects.get_or_create(
            course_id=membership.course_id,
            external_id=resource_link_id,
            defaults={"kind": "link", "title": resource_link_title[:500], "source": "lti"},
        )
        fields["item_id"] = item.pk
    Activity.objects.bulk_create([Activity(**fields)], ignore_conflicts=True)


def _append_with_known_item(row: tuple[Any, ...], external_id: str) -> bool:
    """Append an event row (ACTIVITY_FIELDS order) with the id of its course's item
    `external_id`, read in the same statement; False (nothing written) when there is no such
    item yet, or not on PostgreSQL."""
    if connection.vendor != "postgresql":
        return False
    column_of = {f.attname: f.column for f in Activity._meta.concrete_fields}
    columns = ", ".join(f'"{column_of[f]}"' for f in ACTIVITY_FIELDS)
    values = ", ".join("i.id" if f == "item_id" else "%s" for f in ACTIVITY_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f'WITH i AS (SELECT id FROM "{Item._meta.db_table}"'
            " WHERE course_id = %s AND external_id = %s),"
            f' a AS (INSERT INTO "{Activity._meta.db_table}" ({columns}) SELECT {values} FROM i'
            " ON CONFLICT DO NOTHING RETURNING 1)"
            " SELECT id FROM i",
            [
                row[0],
                external_id,
                *(v for f, v in zip(ACTIVITY_FIELDS, row, strict=True) if f != "item_id"),
            ],
        )
        return cursor.fetchone() is not None
