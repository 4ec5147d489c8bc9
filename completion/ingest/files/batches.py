"""Import batches always end in a final state: done, rejected or failed, with a reason.

A batch row is committed as `running` before its file loads, in a transaction of its own, so
a process killed mid-load leaves it behind. On PostgreSQL the importing session holds an
advisory lock named for the batch for as long as it runs; the lock goes with the session, so
`sweep_stale_imports` can tell a live import from a dead one without guessing. Elsewhere
(SQLite) a batch `running` for longer than IMPORT_STALE_SECONDS is taken as dead. A swept
batch stored nothing (its load was one transaction); running the file again imports it whole.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from completion.models import ImportBatch

log = logging.getLogger(__name__)

# The first key of the two-key advisory locks of import batches ("FI"mport).
LOCK_NAMESPACE = 0x4649
STOPPED = (
    "The import stopped before it finished (its process or database connection ended); "
    "nothing of it was stored. Run the same file again to import it."
)


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def batch_lock(batch_id: int) -> Iterator[None]:
    """Hold the batch's session lock while its import runs (PostgreSQL; a no-op elsewhere)."""
    if not _is_postgres():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, batch_id])
    try:
        yield
    finally:
        if connection.connection is not None and not connection.needs_rollback:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, batch_id])
            except Exception:  # the session is gone, and its lock with it
                log.info("import_lock_released_with_session batch=%s", batch_id)


def _abandoned(batch: ImportBatch, now: datetime) -> bool:
    if not _is_postgres():
        stale = timedelta(seconds=settings.FINISHLINE["IMPORT_STALE_SECONDS"])
        return batch.created_at <= now - stale
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, batch.pk])
        free = bool(cursor.fetchone()[0])
        if free:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, batch.pk])
    return free


def sweep_stale_imports(*, now: datetime | None = None) -> int:
    """Mark `running` batches whose import is no longer alive as failed; returns how many."""
    now = now or timezone.now()
    swept = 0
    for batch in ImportBatch.objects.filter(status=ImportBatch.Status.RUNNING).order_by("pk"):
        if not _abandoned(batch, now):
            continue
        swept += ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.RUNNING).update(
            status=ImportBatch.Status.FAILED,
            finished_at=now,
            rejected=[{"line": 0, "reason": STOPPED}],
        )
        log.warning("import_swept batch=%s file=%r", batch.pk, batch.filename)
    return swept
