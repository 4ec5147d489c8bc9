"""Readiness checks: the database, the broker, migrations applied, a fresh worker heartbeat.

Each check answers ok or not with one line of detail; `/readyz` is green when all are ok, and
the admin health page shows the same list. Reads only; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max
from django_q.brokers import get_broker

from lti_tool.models import WorkerHeartbeat

# The heartbeat task runs every minute: three missed beats mean no worker is running.
HEARTBEAT_STALE = timedelta(minutes=3)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database() -> Check:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure to reach the database is the answer itself
        return Check("database", False, f"{type(exc).__name__}: {exc}"[:300])
    return Check("database", True, connections[DEFAULT_DB_ALIAS].vendor)


def check_broker() -> Check:
    broker = get_broker()
    name = type(broker).__name__
    try:
        if not broker.ping():
            return Check("broker", False, f"{name} did not answer")
    except Exception as exc:  # an unreachable Redis raises; report it, do not fail the probe
        return Check("broker", False, f"{name}: {type(exc).__name__}: {exc}"[:300])
    return Check("broker", True, name)


def unapplied_migrations() -> list[str]:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def check_migrations() -> Check:
    try:
        pending = unapplied_migrations()
    except Exception as exc:  # the database is down: check_database says so too
        return Check("migrations", False, f"{type(exc).__name__}: {exc}"[:300])
    if pending:
        shown = ", ".join(pending[:5]) + (" …" if len(pending) > 5 else "")
        return Check("migrations", False, f"{len(pending)} not applied: {shown}")
    return Check("migrations", True, "all applied")


def newest_heartbeat() -> datetime | None:
    found: datetime | None = WorkerHeartbeat.objects.aggregate(newest=Max("beat_at"))["newest"]
    return found


def check_worker(*, now: datetime) -> Check:
    try:
        newest = newest_heartbeat()
    except Exception as exc:  # the database is down or the table missing (not migrated)
        return Check("worker", False, f"{type(exc).__name__}: {exc}"[:300])
    if newest is None:
        return Check("worker", False, "no worker heartbeat yet (is qcluster running?)")
    age = now - newest
    seconds = int(age.total_seconds())
    if age > HEARTBEAT_STALE:
        return Check("worker", False, f"last heartbeat {seconds} s ago (is qcluster running?)")
    return Check("worker", True, f"last heartbeat {seconds} s ago")


def readiness(*, now: datetime) -> list[Check]:
    return [check_database(), check_broker(), check_migrations(), check_worker(now=now)]


@dataclass(frozen=True)
class StateCounter:
    """An app's queue of work counted by state: the metric `finishline_<name>{state=…}` with
    its help text, and the label the Health page shows ("Outbox messages pending: 3")."""

    name: str
    description: str
    label: str
    counts: Callable[[], dict[str, int]]


_state_counters: dict[str, StateCounter] = {}


def register_state_counter(counter: StateCounter) -> None:
    """Count an app's queue by state for `/metrics` and the Health page (the outbox, say: the
    foundation cannot read it itself). Apps register theirs in `ready()`."""
    _state_counters[counter.name] = counter


def state_counts() -> list[tuple[StateCounter, dict[str, int]]]:
    """Every registered queue with its counts by state."""
    return [(c, c.counts()) for _, c in sorted(_state_counters.items())]


def queue_depth() -> int | None:
    """Tasks waiting in the broker (None when it cannot be asked)."""
    try:
        size = get_broker().queue_size()
    except Exception:  # an unreachable broker: the readiness check reports it
        return None
    return int(size) if size is not None else None
