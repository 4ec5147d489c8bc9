"""CSV and JSON Lines backfills into the event store: streamed, all-or-nothing, idempotent.

The file is read once and never held in memory. Each row is validated as it is read and
loaded in chunks inside one transaction; if any row is rejected, reading goes on only to
report every rejected line (number and reason), and the transaction is rolled back, so
nothing is stored. On PostgreSQL rows go through a binary COPY into a temporary staging
table and one INSERT per chunk, run by a second thread on the same connection so that the
next chunk is parsed while the database inserts the last one; a re-import stores nothing
twice. Elsewhere rows go through `store_events`. Rows about learners or courses not known
yet wait in PendingActivity.

Deduplication on PostgreSQL: `INSERT … ON CONFLICT DO NOTHING` inserts each row
speculatively (an extra index probe and WAL record per row), a third slower than a plain
INSERT. So a chunk whose source ids are distinct and none of whose rows is stored yet takes
a plain INSERT: first a cheap check that the chunk's period holds no stored row at all (a
backfill into an empty period), else one index probe per staged row for its exact key.
Only a concurrent writer storing one of the same rows can then make it fail, with a unique
violation; `import_file` then loads the file again with ON CONFLICT for every chunk.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import psycopg.errors
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from completion.data import ActorRef, EngagementEvent, StoreResult
from completion.events.store import (
    ACTIVITY_FIELDS,
    _pending,
    activity_row,
    resolve_items,
    resolve_people,
    store_events,
)
from completion.ingest.files.batches import batch_lock, sweep_stale_imports
from completion.ingest.files.rows import COLUMNS, RowError, parse_row
from completion.ingest.limits import parse_json
from completion.models import ImportBatch, PendingActivity
from lti_tool.audit.trail import append_audit
from lti_tool.models import Course, Deployment

log = logging.getLogger(__name__)
CHUNK = 20_000
MAX_REPORTED = 1000
REQUIRED_HEADERS = {"course_id", "verb", "timestamp", "source_id"}


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


class BrokenFile(RowError):
    """The file cannot be read past this line (bad quoting, wrong column count, bad JSON)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def read_rows(
    path: Path,
    file_format: str,
    required: frozenset[str] | set[str] = REQUIRED_HEADERS,
    columns: tuple[str, ...] = COLUMNS,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs; a file that cannot be read further raises BrokenFile.
    A CSV header must hold the `required` columns (of the documented `columns`)."""
    line = 0
    try:
        for line, row in _rows_of(path, file_format, required, columns):
            yield line, row
    except UnicodeDecodeError as exc:
        raise BrokenFile(line + 1, "the file is not UTF-8 text") from exc


def _rows_of(
    path: Path, file_format: str, required: frozenset[str] | set[str], columns: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        if file_format == "jsonl":
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = parse_json(line)
                except ValueError as exc:  # InputRefused names a limit or unstorable text
                    raise BrokenFile(number, f"not valid JSON ({exc})") from exc
                if not isinstance(row, dict):
                    raise BrokenFile(number, "not a JSON object")
                yield number, row
            return
        reader = csv.reader(handle, strict=True)
        try:
            fieldnames = next(reader, [])
            missing = required - set(fieldnames)
            if missing:
                raise BrokenFile(
                    1,
                    f"the header lacks {', '.join(sorted(missing))} "
                    f"(columns: {', '.join(columns)})",
                )
            width = len(fieldnames)
            for values in reader:
                if len(values) != width:
                    if not values:  # a blank line
                        continue
                    raise BrokenFile(reader.line_num, "wrong number of columns")
                yield reader.line_num, dict(zip(fieldnames, values, strict=True))
        except csv.Error as exc:
            raise BrokenFile(reader.line_num, str(exc)) from exc


@dataclass
class CheckedRows:
    """The file's rows as events, validated as they are read.

    After the first rejected row no more events are yielded (the import will be rolled
    back), but every row is still read, so the report lists all rejected lines.
    """

    path: Path
    file_format: str
    total: int = 0
    rejected_count: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def __iter__(self) -> Iterator[EngagementEvent]:
        rows = read_rows(self.path, self.file_format)
        while True:
            try:
                number, row = next(rows)
            except StopIteration:
                return
            except BrokenFile as exc:  # the rest of the file cannot be read
                self._reject(exc.line, exc.reason)
                return
            self.total += 1
            try:
                event = parse_row(row)
            except RowError as exc:
                self._reject(number, str(exc))
                continue
            if not self.rejected_count:
                yield event

    def _reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED:
            self.rejected.append(Rejection(line, reason))

    def report(self) -> list[dict[str, Any]]:
        more = self.rejected_count - len(self.rejected)
        return [{"line": r.line, "reason": r.reason} for r in self.rejected] + (
            [{"line": 0, "reason": f"and {more} more"}] if more > 0 else []
        )


def check_file(path: Path, file_format: str) -> CheckedRows:
    """Read and validate a whole file without storing anything: the report, in advance.

    Worth running on a large file first: an import that meets a bad row late has written
    and rolled back everything before it (dead rows in the busiest table until vacuum)."""
    rows = CheckedRows(path, file_format)
    for _ in rows:
        pass
    return rows


class _RolledBack(Exception):
    """Raised inside the import's transaction to undo it when a row was rejected."""

    def __init__(self, rows: CheckedRows) -> None:
        super().__init__()
        self.rows = rows


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_file(
    *, deployment: Deployment, path: Path, file_format: str, created_by: str, filename: str = ""
) -> ImportBatch:
    """Load a whole file or nothing, in one pass. Returns the batch with its report.

    Batches left `running` by an import that died are marked failed first, so a re-run of the
    same file is a fresh, whole import (see `batches`).
    """
    sweep_stale_imports()
    batch = ImportBatch.objects.create(
        deployment=deployment,
        filename=filename or path.name,
        file_format=file_format,
        sha256=sha256_of(path),
        status=ImportBatch.Status.RUNNING,
        created_by=created_by,
    )
    try:
        with batch_lock(batch.pk):
            try:
                _load_file(batch, path, created_by, fast=True)
            except IntegrityError as exc:
                if not isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                    raise
                # Rolled back whole: another writer (an overlapping import, say) stored one of
                # the rows between the check and the plain INSERT.
                log.warning("import_retried_with_on_conflict batch=%s reason=%s", batch.pk, exc)
                _load_file(batch, path, created_by, fast=False)
    except _RolledBack as rolled:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.REJECTED,
            rows_total=rolled.rows.total,
            finished_at=timezone.now(),
            rejected=rolled.rows.report(),
        )
    except DatabaseError as exc:  # rolled back: nothing of the file is stored; say why
        log.exception("import_failed batch=%s", batch.pk)
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.FAILED,
            finished_at=timezone.now(),
            rejected=[{"line": 0, "reason": f"the database refused the load: {exc}"[:500]}],
        )
        raise
    batch.refresh_from_db()
    return batch


def _load_file(batch: ImportBatch, path: Path, created_by: str, *, fast: bool) -> None:
    """One all-or-nothing attempt: the file's rows stored and the batch marked done."""
    deployment = batch.deployment
    rows = CheckedRows(path, batch.file_format)
    with transaction.atomic():
        result = load_events(deployment, rows, fast=fast)
        if rows.rejected_count:
            raise _RolledBack(rows)
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.DONE,
            rows_total=rows.total,
            rows_stored=result.stored,
            rows_duplicate=result.duplicate,
            rows_pending=result.pending,
            finished_at=timezone.now(),
        )
        append_audit(
            actor=created_by,
            action="completion.imported",
            obj=batch,
            deployment=deployment,
            data={"rows": rows.total, "stored": result.stored, "sha256": batch.sha256},
        )


def load_events(
    deployment: Deployment, events: Iterable[EngagementEvent], *, fast: bool = False
) -> StoreResult:
    """Store a stream of events in chunks, through COPY on PostgreSQL. Call inside atomic.

    With `fast`, chunks that cannot hold a stored row take a plain INSERT (see the module's
    docstring), and a concurrent writer can make the load fail with an IntegrityError: the
    caller rolls back and loads again without it.
    """
    with _without_cyclic_gc():
        if connection.vendor != "postgresql":
            total = StoreResult()
            for chunk in _chunks(events):
                total = total + store_events(deployment=deployment, events=chunk)
            return total
        loader = _CopyLoader(deployment, fast=fast)
        try:
            for chunk in _chunks(events):
                loader.load(chunk)
        finally:
            result = loader.finish()
        return result


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Chunks hold a few hundred thousand short-lived objects without cycles; the cyclic
    collector's repeated passes over them cost a fifth of an import. Reference counting
    still frees everything."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _chunks(events: Iterable[EngagementEvent]) -> Iterator[list[EngagementEvent]]:
    chunk: list[EngagementEvent] = []
    for event in events:
        chunk.append(event)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _CopyLoader:
    """PostgreSQL: resolve ids with caches, COPY into staging, insert what is new.

    The INSERT of one chunk runs in a worker thread on the same psycopg connection (so in
    the same transaction) while the caller parses the next chunk and builds the rows it
    can from the caches; only looking up new learners and items, and the COPY, wait for
    the connection.
    """

    def __init__(self, deployment: Deployment, *, fast: bool) -> None:
        self.deployment = deployment
        self.fast = fast
        self.now = timezone.now()
        self.courses = {c.context_id: c for c in Course.objects.filter(deployment=deployment)}
        self.people: dict[ActorRef, int | None] = {}
        self.items: dict[tuple[int, str], int] = {}
        self.result = StoreResult()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-insert")
        self._inserting: Future[StoreResult] | None = None
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS finishline_import_stage (course_id bigint, "
                "person_id bigint, item_id bigint, verb varchar(12), occurred_at timestamptz, "
                "received_at timestamptz, duration_seconds float8, score float8, success bool, "
                "count integer, source varchar(10), source_id varchar(255)) ON COMMIT DROP"
            )
        # Django's `connection` is per thread: the worker must be handed this one's, and its
        # error translation, so a failed INSERT raises Django's exceptions as any query does.
        self._raw = connection.connection
        self._django_errors = connection.wrap_database_errors

    def load(self, events: list[EngagementEvent]) -> None:
        rows, unresolved = self._rows(events)
        self._wait()
        if unresolved:
            self._resolve(unresolved)
            more, still_unknown = self._rows(unresolved)
            rows.extend(more)
            pending = [
                _pending(self.deployment, self.courses.get(e.course_key), e, self.now)
                for e in still_unknown
            ]
            PendingActivity.objects.bulk_create(pending, ignore_conflicts=True, batch_size=5000)
            self.result = self.result + StoreResult(pending=len(pending))
        if rows:
            self._copy(rows)
            # Distinct source ids (within one source) rule out duplicates inside the chunk.
            plain_if_new = self.fast and len(set(map(_SOURCE_ID, rows))) == len(rows)
            self._inserting = self._worker.submit(self._insert, len(rows), plain_if_new)

    def _rows(
        self, events: list[EngagementEvent]
    ) -> tuple[list[tuple[Any, ...]], list[EngagementEvent]]:
        """Staging rows for the events the caches resolve; the others, to look up."""
        course_ids = {key: course.pk for key, course in self.courses.items()}
        people, items, now = self.people, self.items, self.now
        rows, unresolved = [], []
        for e in events:
            course_id = course_ids.get(e.course_key)
            person_id = people.get(e.actor)
            if course_id is None or person_id is None:
                unresolved.append(e)
                continue
            item_id = items.get((course_id, e.item_id)) if e.item_id else None
            if e.item_id and item_id is None:
                unresolved.append(e)
                continue
            rows.append(activity_row(e, course_id, person_id, item_id, now))
        return rows, unresolved

    def _resolve(self, events: list[EngagementEvent]) -> None:
        """Look up (and create) the people and items the caches lack; unknown people stay
        None, so their events go to PendingActivity."""
        unknown = {e.actor for e in events if e.actor not in self.people}
        if unknown:
            found = resolve_people(self.deployment, unknown)
            for actor in unknown:
                person = found.get(actor)
                self.people[actor] = person.pk if person is not None else None
        wanted = [e for e in events if e.item_id and e.course_key in self.courses]
        for key, item in resolve_items(self.courses, wanted).items():
            self.items[key] = item.pk

    def finish(self) -> StoreResult:
        try:
            self._wait()
        finally:
            self._worker.shutdown(wait=True)
        return self.result

    def _wait(self) -> None:
        if self._inserting is not None:
            inserting, self._inserting = self._inserting, None
            self.result = self.result + inserting.result()

    def _copy(self, rows: list[tuple[Any, ...]]) -> None:
        columns = ", ".join(ACTIVITY_FIELDS)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE finishline_import_stage")
            with cursor.cursor.copy(
                f"COPY finishline_import_stage ({columns}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(
                    [
                        "bigint",
                        "bigint",
                        "bigint",
                        "varchar",
                        "timestamptz",
                        "timestamptz",
                        "float8",
                        "float8",
                        "bool",
                        "int4",
                        "varchar",
                        "varchar",
                    ]
                )
                for row in rows:
                    copy.write_row(row)

    def _insert(self, count: int, plain_if_new: bool) -> StoreResult:
        # Sorted like the per-learner index, which then takes the rows in order.
        columns = ", ".join(ACTIVITY_FIELDS)
        insert = (
            f"INSERT INTO completion_activity ({columns}) SELECT {columns} FROM "
            "finishline_import_stage ORDER BY course_id, person_id, occurred_at"
        )
        with self._django_errors, self._raw.cursor() as cursor:
            plain = plain_if_new and _none_stored_yet(cursor)
            cursor.execute(insert if plain else f"{insert} ON CONFLICT DO NOTHING")
            inserted = int(cursor.rowcount)
        log.debug("import_chunk rows=%s insert=%s", count, "plain" if plain else "on_conflict")
        return StoreResult(stored=inserted, duplicate=count - inserted)


def _none_stored_yet(cursor: Any) -> bool:
    """No staged row is in the event store: its period is empty, or no key is there."""
    cursor.execute(_ANY_STORED_IN_STAGE_RANGE)
    if cursor.fetchone() is None:
        return True
    cursor.execute(_ANY_STAGED_ROW_STORED)
    return cursor.fetchone() is None


_SOURCE_ID = itemgetter(ACTIVITY_FIELDS.index("source_id"))

# Any stored row of the staged rows' course inside their time range? Walks the unique key
# (course, occurred_at, source, source_id) to the first entry in that range, if any.
_ANY_STORED_IN_STAGE_RANGE = """
    SELECT 1 FROM (
        SELECT course_id, min(occurred_at) AS first, max(occurred_at) AS last
        FROM finishline_import_stage GROUP BY course_id
    ) AS staged
    WHERE EXISTS (
        SELECT 1 FROM completion_activity AS stored
        WHERE stored.course_id = staged.course_id
          AND stored.occurred_at BETWEEN staged.first AND staged.last
    )
    LIMIT 1
"""

# Is any staged row stored already? One probe of the unique key per staged row: LATERAL …
# LIMIT 1 keeps the plan a nested loop (the unanalysed staging table could otherwise get a
# hash join that reads the whole event store).
_ANY_STAGED_ROW_STORED = """
    SELECT 1 FROM finishline_import_stage AS staged, LATERAL (
        SELECT 1 FROM completion_activity AS stored
        WHERE stored.course_id = staged.course_id AND stored.occurred_at = staged.occurred_at
          AND stored.source = staged.source AND stored.source_id = staged.source_id
        LIMIT 1
    ) AS hit
    LIMIT 1
"""
