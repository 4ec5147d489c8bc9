"""Facts kept between days: a course's fact rows as of a day, plus the events stored since.

Reading every event of every course each night is most of a daily pass's work, although most
of those events have not changed since the night before. A `FactsSnapshot` holds the fact rows
of a course's events before the end of its day with ids up to its watermark; a later day's rows
are the snapshot merged with the events it does not hold (newer ids, or later times).

It is used only while the events it holds are unchanged. The course's events before its cutoff,
less those with newer ids, must still number what it was built from (on PostgreSQL that
number is summed from `completion.events.tally`, not counted): deleted events (retention, xAPI
voiding, a deleted person) and events committed late by a long transaction with an older id
both break that, and so does a deleted item (its events lose their item).
Then the day is read from the events and the snapshot replaced; so it is, at the latest,
`REREAD_DAYS` after the last such read. Earlier days than a snapshot's (backtests) are always
read from the events.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, Protocol

from django.db import connection, transaction
from django.db.models import Max, Q

from completion.data import cutoff_of
from completion.events import tally
from completion.models import Activity, FactsSnapshot, Item
from completion.risk.fact_rows import FactRows
from lti_tool.db.bulk import server_cursor
from lti_tool.models import Course, Deployment

log = logging.getLogger(__name__)

FORMAT = 2  # bump when FactRows' columns change: older snapshots are then ignored
# Store a fresh snapshot once the events read on top of it pass this share of those it holds,
# so a day's read stays small without rewriting megabytes every night.
RESAVE_SHARE = 0.05
# Read every event again at least this often, so that a change the count cannot see (a
# deletion and a late commit that cancel out) lasts a week at most.
REREAD_DAYS = 7


class ReadRows(Protocol):
    """How `load` aggregates events: the course's before `cutoff`, or with `after` as
    (id, earlier cutoff) only those with a greater id or at or after the earlier cutoff."""

    def __call__(
        self, course_id: int, cutoff: datetime, after: tuple[int, datetime] | None
    ) -> FactRows: ...


@dataclass(frozen=True)
class Loaded:
    rows: FactRows
    watermark: int  # every event with a greater id is left for the next increment
    source: Literal["snapshot", "events"]
    save: bool  # whether `rows` should become the course's snapshot
    read_on: date  # the day whose pass last read every event behind `rows`
    # Read from the events, which the course's event tally does not add up to (PostgreSQL):
    # whoever stores the rows puts the tally right (`tally.reconcile`).
    tally_off: bool = False


@contextmanager
def consistent_read() -> Iterator[None]:
    """One view of the events for the watermark and every aggregate read after it (on
    PostgreSQL, a REPEATABLE READ transaction). Nested in a caller's transaction, the caller's
    isolation applies; a snapshot built that way may fail the count later, and is replaced."""
    if connection.in_atomic_block:  # the caller's transaction decides
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def load(course: Course, as_of: date, read: ReadRows) -> Loaded:
    """The fact rows of `course` for `as_of`, from its snapshot where that is still valid."""
    cutoff = cutoff_of(as_of)
    with consistent_read():
        watermark = Activity.objects.aggregate(m=Max("id"))["m"] or 0
        snapshot = (
            FactsSnapshot.objects.filter(
                course=course,
                format=FORMAT,
                as_of__lte=as_of,
                read_on__gt=as_of - timedelta(days=REREAD_DAYS),
            )
            .only("as_of", "read_on", "last_activity_id", "events")
            .first()
        )
        if snapshot is not None:
            rows = _on_top_of(course, snapshot, cutoff, read)
            if rows is not None:
                read_since = rows.events - snapshot.events
                save = read_since > RESAVE_SHARE * max(snapshot.events, 1)
                return Loaded(rows, watermark, "snapshot", save, snapshot.read_on)
        rows = read(course.pk, cutoff, None)
        off = tally.disagrees(course.pk, as_of, rows.events)
        return Loaded(rows, watermark, "events", True, as_of, tally_off=off)


def _on_top_of(
    course: Course, snapshot: FactsSnapshot, cutoff: datetime, read: ReadRows
) -> FactRows | None:
    held_cutoff = cutoff_of(snapshot.as_of)
    # Kept from here on as columns only: the stored bytes (180 MB for 100,000 learners) go
    # before the merge doubles the columns.
    data = _read_data(snapshot.pk)
    if data is None:  # deleted since it was found (outside a REPEATABLE READ caller)
        return None
    try:
        held = FactRows.from_bytes(data)
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile):
        # A cache fails soft: an unreadable snapshot is read again from the events.
        log.warning("facts_snapshot_unreadable course=%s", course.pk, exc_info=True)
        return None
    finally:
        del data
    if held.events != snapshot.events:
        log.warning("facts_snapshot_unreadable course=%s reason=count_mismatch", course.pk)
        return None
    if not held.item_ids <= set(Item.objects.filter(course=course).values_list("pk", flat=True)):
        log.info("facts_snapshot_stale course=%s reason=item_deleted", course.pk)
        return None
    since = read(course.pk, cutoff, (snapshot.last_activity_id, held_cutoff))
    # Day rows before the held cutoff in `since` are events with newer ids: late arrivals.
    late = int(since.days["events"][since.days["day"] <= snapshot.as_of.toordinal()].sum())
    stored = tally.events_up_to(course.pk, snapshot.as_of)
    if stored - late != snapshot.events:
        log.info(
            "facts_snapshot_stale course=%s reason=events_changed held=%s now=%s",
            course.pk,
            snapshot.events,
            stored - late,
        )
        return None
    return held.merged(since)


def store(course: Course, as_of: date, loaded: Loaded, now: datetime) -> None:
    """Keep `loaded` as the course's snapshot, unless a later day's is already kept."""
    kept = FactsSnapshot.objects.filter(course=course).values_list("as_of", flat=True).first()
    if kept is not None and kept > as_of:
        return
    values = {
        "as_of": as_of,
        "read_on": loaded.read_on,
        "last_activity_id": loaded.watermark,
        "events": loaded.rows.events,
        "format": FORMAT,
        "saved_at": now,
    }
    data = loaded.rows.to_bytes()
    if connection.vendor == "postgresql":
        _upsert_binary(course.pk, values, data)
    else:
        FactsSnapshot.objects.update_or_create(course=course, defaults={**values, "data": data})


def _upsert_binary(course_id: int, values: dict[str, object], data: bytes) -> None:
    """Django's PostgreSQL cursors bind parameters into the SQL text, where a 180 MB snapshot
    (a 100,000-learner course) became 360 MB of hex and several copies of it: more than the
    rest of the course's scoring together. A server-binding cursor sends the bytes as they are."""
    table = connection.ops.quote_name(FactsSnapshot._meta.db_table)
    names = [connection.ops.quote_name(n) for n in ("course_id", *values, "data")]
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names[1:])
    sql = (
        f"INSERT INTO {table} ({', '.join(names)}) "
        f"VALUES ({', '.join(['%s'] * (len(names) - 1))}, %b) "
        f"ON CONFLICT (course_id) DO UPDATE SET {updates}"
    )
    with server_cursor() as cursor:
        cursor.execute(sql, [course_id, *values.values(), data])


def _read_data(snapshot_id: int) -> bytes | None:
    """The snapshot's bytes, read in binary on PostgreSQL: as hex text, a 9 MB snapshot took
    five times as long (0.1 s)."""
    if connection.vendor != "postgresql":
        found = FactsSnapshot.objects.filter(pk=snapshot_id).values_list("data", flat=True)
        data = found.first()
        return None if data is None else bytes(data)
    table = connection.ops.quote_name(FactsSnapshot._meta.db_table)
    with server_cursor() as cursor:
        cursor.execute(f"SELECT data FROM {table} WHERE id = %s", [snapshot_id], binary=True)
        row = cursor.fetchone()
    return None if row is None else bytes(row[0])


def purge_stale(deployment: Deployment, cutoff: datetime, dry_run: bool) -> int:
    """Retention's purger. A snapshot of a day before the cutoff holds only events retention
    deletes, and a retired course's is never read again: both go. An active course's other
    snapshots are replaced at its next pass, because their count no longer matches."""
    stale = FactsSnapshot.objects.filter(course__deployment=deployment).filter(
        Q(as_of__lt=cutoff.date()) | Q(course__retired_at__isnull=False)
    )
    return stale.count() if dry_run else stale.delete()[0]


def forget(course_ids: Iterable[int]) -> None:
    """Drop the courses' snapshots: for code that deletes events. The count check would see
    a deletion on its own, but not one that a late-committed event happens to make up for."""
    FactsSnapshot.objects.filter(course_id__in=list(course_ids)).delete()
