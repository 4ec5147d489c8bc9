"""CSV and JSON Lines backfills into the event store: streamed, all-or-nothing, idempotent.

The file is read twice and never held in memory: the first pass validates every row and
collects the rejected ones (line number and reason); if any row is rejected nothing is stored.
The second pass loads in chunks inside one transaction. On PostgreSQL rows go through a binary
COPY into a temporary staging table and one `INSERT … ON CONFLICT DO NOTHING` per chunk, so a
re-import stores nothing twice and runs near COPY speed; elsewhere through `store_events`.
Rows about learners or courses not known yet wait in PendingActivity.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from completion.data import ActorRef, EngagementEvent, StoreResult
from completion.events import _pending, resolve_items, resolve_people, store_events
from completion.ingest.rows import COLUMNS, RowError, parse_row
from completion.models import ImportBatch, PendingActivity
from lti_tool.audit import append_audit
from lti_tool.models import Course, Deployment

CHUNK = 20_000
MAX_REPORTED = 1000
REQUIRED_HEADERS = {"course_id", "verb", "timestamp", "source_id"}
ACTIVITY_COLUMNS = (
    "course_id",
    "person_id",
    "item_id",
    "verb",
    "occurred_at",
    "received_at",
    "duration_seconds",
    "score",
    "success",
    "source",
    "source_id",
)


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


def read_rows(path: Path, file_format: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs; malformed lines raise RowError carrying their number."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        if file_format == "jsonl":
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise RowError(f"line {number}: not valid JSON") from exc
                if not isinstance(row, dict):
                    raise RowError(f"line {number}: not a JSON object")
                yield number, row
            return
        reader = csv.DictReader(handle, strict=True)
        missing = REQUIRED_HEADERS - set(reader.fieldnames or [])
        if missing:
            raise RowError(
                f"line 1: the header lacks {', '.join(sorted(missing))} "
                f"(columns: {', '.join(COLUMNS)})"
            )
        try:
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise RowError(f"line {reader.line_num}: wrong number of columns")
                yield reader.line_num, row
        except csv.Error as exc:
            raise RowError(f"line {reader.line_num}: {exc}") from exc


def validate_file(path: Path, file_format: str) -> tuple[int, int, list[Rejection]]:
    """Pass one: count rows, and every rejected one (the first MAX_REPORTED kept)."""
    total = rejected_count = 0
    rejected: list[Rejection] = []
    rows = read_rows(path, file_format)
    while True:
        try:
            number, row = next(rows)
        except StopIteration:
            break
        except RowError as exc:  # a broken file stops the pass: it cannot be read further
            line = int(str(exc).split(":")[0].removeprefix("line ") or 0)
            rejected.append(Rejection(line, str(exc).split(": ", 1)[-1]))
            return total, rejected_count + 1, rejected
        total += 1
        try:
            parse_row(row)
        except RowError as exc:
            rejected_count += 1
            if len(rejected) < MAX_REPORTED:
                rejected.append(Rejection(number, str(exc)))
    return total, rejected_count, rejected


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_file(
    *, deployment: Deployment, path: Path, file_format: str, created_by: str, filename: str = ""
) -> ImportBatch:
    """Validate, then load a whole file or nothing. Returns the batch with its report."""
    batch = ImportBatch.objects.create(
        deployment=deployment,
        filename=filename or path.name,
        file_format=file_format,
        sha256=sha256_of(path),
        status=ImportBatch.Status.RUNNING,
        created_by=created_by,
    )
    total, rejected_count, rejected = validate_file(path, file_format)
    if rejected_count:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.REJECTED,
            rows_total=total,
            finished_at=timezone.now(),
            rejected=[{"line": r.line, "reason": r.reason} for r in rejected]
            + (
                [{"line": 0, "reason": f"and {rejected_count - len(rejected)} more"}]
                if rejected_count > len(rejected)
                else []
            ),
        )
        batch.refresh_from_db()
        return batch
    with transaction.atomic():
        result = _load(deployment, path, file_format)
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.DONE,
            rows_total=total,
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
            data={"rows": total, "stored": result.stored, "sha256": batch.sha256},
        )
    batch.refresh_from_db()
    return batch


def _load(deployment: Deployment, path: Path, file_format: str) -> StoreResult:
    return load_events(deployment, (parse_row(row) for _, row in read_rows(path, file_format)))


def load_events(deployment: Deployment, events: Iterable[EngagementEvent]) -> StoreResult:
    """Store a stream of events in chunks, through COPY on PostgreSQL. Call inside atomic."""
    loader = _CopyLoader(deployment) if connection.vendor == "postgresql" else None
    total = StoreResult()
    chunk: list[EngagementEvent] = []
    for event in events:
        chunk.append(event)
        if len(chunk) >= CHUNK:
            total = total + _store_chunk(deployment, loader, chunk)
            chunk = []
    if chunk:
        total = total + _store_chunk(deployment, loader, chunk)
    return total


def _store_chunk(
    deployment: Deployment, loader: _CopyLoader | None, chunk: list[EngagementEvent]
) -> StoreResult:
    if loader is None:
        return store_events(deployment=deployment, events=chunk)
    return loader.load(chunk)


class _CopyLoader:
    """PostgreSQL: resolve ids with caches, COPY into staging, insert what is new."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.now = timezone.now()
        self.courses = {c.context_id: c for c in Course.objects.filter(deployment=deployment)}
        self.people: dict[ActorRef, int | None] = {}
        self.items: dict[tuple[int, str], int] = {}
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS finishline_import_stage (course_id bigint, "
                "person_id bigint, item_id bigint, verb varchar(12), occurred_at timestamptz, "
                "received_at timestamptz, duration_seconds float8, score float8, success bool, "
                "source varchar(10), source_id varchar(255)) ON COMMIT DROP"
            )

    def load(self, events: list[EngagementEvent]) -> StoreResult:
        unknown = {e.actor for e in events if e.actor not in self.people}
        if unknown:
            found = resolve_people(self.deployment, unknown)
            self.people.update({a: (found[a].pk if a in found else None) for a in unknown})
        wanted = [
            e
            for e in events
            if e.course_key in self.courses
            and e.item_id
            and (self.courses[e.course_key].pk, e.item_id) not in self.items
        ]
        if wanted:
            for key, item in resolve_items(self.courses, wanted).items():
                self.items[key] = item.pk
        rows, pending = [], []
        for e in events:
            course = self.courses.get(e.course_key)
            person_id = self.people.get(e.actor)
            if course is None or person_id is None:
                pending.append(_pending(self.deployment, course, e, self.now))
                continue
            rows.append(
                (
                    course.pk,
                    person_id,
                    self.items.get((course.pk, e.item_id)),
                    e.verb,
                    e.occurred_at,
                    self.now,
                    e.duration_seconds,
                    e.score,
                    e.success,
                    e.source,
                    e.source_id,
                )
            )
        PendingActivity.objects.bulk_create(pending, ignore_conflicts=True, batch_size=5000)
        inserted = self._copy(rows)
        return StoreResult(stored=inserted, duplicate=len(rows) - inserted, pending=len(pending))

    def _copy(self, rows: list[tuple[Any, ...]]) -> int:
        if not rows:
            return 0
        columns = ", ".join(ACTIVITY_COLUMNS)
        with connection.cursor() as cursor:
            raw = cursor.cursor
            cursor.execute("TRUNCATE finishline_import_stage")
            with raw.copy(
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
                        "varchar",
                        "varchar",
                    ]
                )
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO completion_activity ({columns}) SELECT {columns} FROM "
                "finishline_import_stage ON CONFLICT DO NOTHING"
            )
            return int(cursor.rowcount)
