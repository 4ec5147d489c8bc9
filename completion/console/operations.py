"""Reads of the institution admin console, and its two writes that need care.

Tenant data (courses and their syncs, credentials, retention) is scoped to the launch's
deployment. The job queue and the tool's signing keys belong to the whole installation, so the
console shows only their health: task names and times, never arguments, never private keys.
The writes here are a sync on request and a guarded key rotation; credentials and retention
use their services in `lti_tool` directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Min, QuerySet
from django.http import Http404
from django_q.brokers import get_broker
from django_q.models import Failure, OrmQ, Success
from django_q.tasks import async_task

from completion.models import CourseSync
from lti_tool.audit import retention
from lti_tool.audit.trail import append_audit
from lti_tool.context import LaunchContext
from lti_tool.models import Course, Platform, RetentionPolicy, ServiceCredential, ToolKey
from lti_tool.selectors import courses_for, deployment_of, platforms_for_admin

SYNC_TASKS = {
    CourseSync.Kind.ROSTER: "completion.ingest.lms.tasks.roster",
    CourseSync.Kind.GRADES: "completion.ingest.lms.tasks.grades",
}
COURSE_FIELDS = ("pk", "title", "context_id", "retired_at", "nrps_url", "ags_lineitems_url")
SYNC_ROWS_SHOWN = 300
RECENT_FAILURES = 5
RETIRED_KEYS_SHOWN = 5
# A platform that cached the JWKS must have seen the next key before it starts signing; one
# admin's double click must not break verification for every other tenant.


class SyncUnavailable(ValueError):
    """The course did not advertise the service this sync reads."""


@dataclass(frozen=True)
class SyncState:
    last_started_at: datetime | None
    last_success_at: datetime | None
    counts: dict[str, Any]
    last_error: str
    last_error_at: datetime | None


@dataclass(frozen=True)
class CourseSyncRow:
    course_id: int
    title: str
    retired: bool
    can_roster: bool
    can_grades: bool
    roster: SyncState | None
    grades: SyncState | None

    @property
    def failing(self) -> bool:
        return any(s is not None and s.last_error for s in (self.roster, self.grades))

    @property
    def cells(self) -> list[tuple[str, bool, SyncState | None]]:
        """(kind, offered by the platform, state) for the roster and grades columns."""
        return [
            (CourseSync.Kind.ROSTER, self.can_roster, self.roster),
            (CourseSync.Kind.GRADES, self.can_grades, self.grades),
        ]


@dataclass(frozen=True)
class SyncHealth:
    rows: list[CourseSyncRow]
    total: int


@dataclass(frozen=True)
class FailedTask:
    name: str
    func: str
    stopped: datetime


@dataclass(frozen=True)
class QueueHealth:
    broker: str
    queued: int | None
    in_flight: int | None
    oldest_queued: timedelta | None  # age of the oldest waiting job
    failures_24h: int
    recent_failures: list[FailedTask]
    successes_24h: int
    oldest_queued_since: datetime | None = None
    error: str = ""


@dataclass(frozen=True)
class KeyRow:
    kid: str
    state: str
    created_at: datetime
    activated_at: datetime | None
    retired_at: datetime | None


@dataclass(frozen=True)
class RetentionView:
    years: int
    default_years: int
    min_years: int
    max_years: int
    cutoff: datetime
    updated_at: datetime | None
    updated_by: str
    preview: list[tuple[str, int]] | None = None


@dataclass(frozen=True)
class ConsolePage:
    platforms: QuerySet[Platform]
    syncs: SyncHealth
    queue: QueueHealth
    credentials: QuerySet[ServiceCredential]
    keys: list[KeyRow]
    retention: RetentionView
    credential_kinds: list[tuple[str, str]]


def console_page(launch: LaunchContext, *, now: datetime, preview: bool = False) -> ConsolePage:
    """Everything the console shows for this launch's deployment."""
    return ConsolePage(
        platforms=platforms_for_admin(launch),
        syncs=sync_health(launch),
        queue=queue_health(now=now),
        credentials=credentials_for(launch),
        keys=tool_keys(),
        retention=retention_of(launch, now=now, preview=preview),
        credential_kinds=list(ServiceCredential.Kind.choices),
    )


def _state(sync: CourseSync | None) -> SyncState | None:
    if sync is None:
        return None
    return SyncState(
        sync.last_started_at, sync.last_success_at, sync.counts, sync.last_error, sync.last_error_at
    )


def sync_health(launch: LaunchContext, *, limit: int = SYNC_ROWS_SHOWN) -> SyncHealth:
    """Each course's roster and grade sync: failing courses first, then by title."""
    courses = list(courses_for(launch).only(*COURSE_FIELDS))
    syncs = {
        (s.course_id, s.kind): s
        for s in CourseSync.objects.filter(course__deployment_id=launch.deployment_id)
    }
    rows = [
        CourseSyncRow(
            course_id=c.pk,
            title=c.title or c.context_id,
            retired=c.retired_at is not None,
            can_roster=bool(c.nrps_url),
            can_grades=bool(c.ags_lineitems_url),
            roster=_state(syncs.get((c.pk, CourseSync.Kind.ROSTER))),
            grades=_state(syncs.get((c.pk, CourseSync.Kind.GRADES))),
        )
        for c in courses
    ]
    rows.sort(key=lambda r: (not r.failing, r.retired, r.title.lower()))
    return SyncHealth(rows=rows[:limit], total=len(rows))


def queue_health(*, now: datetime) -> QueueHealth:
    """django-q2's queue and results: queued work (ORM broker), failures and successes in 24 h."""
    since = now - timedelta(hours=24)
    failures = Failure.objects.filter(stopped__gte=since)
    recent = [
        FailedTask(name=name, func=func, stopped=stopped)
        for name, func, stopped in failures.order_by("-stopped").values_list(
            "name", "func", "stopped"
        )[:RECENT_FAILURES]
    ]
    common: dict[str, Any] = {
        "failures_24h": failures.count(),
        "recent_failures": recent,
        "successes_24h": Success.objects.filter(stopped__gte=since).count(),
    }
    broker = get_broker()
    name = type(broker).__name__.lower()
    if name != "orm":
        try:
            size: int | None = broker.queue_size()
            error = ""
        except Exception as exc:  # the broker is down or unreachable: say so, don't fail the page
            size, error = None, f"{type(exc).__name__}: {exc}"
        return QueueHealth(name, size, None, None, error=error, **common)
    waiting = OrmQ.objects.filter(lock__lte=now)
    oldest = waiting.aggregate(oldest=Min("lock"))["oldest"]
    return QueueHealth(
        broker=name,
        queued=waiting.count(),
        in_flight=OrmQ.objects.filter(lock__gt=now).count(),
        oldest_queued=now - oldest if oldest is not None else None,
        oldest_queued_since=oldest,
        **common,
    )


def credentials_for(launch: LaunchContext) -> QuerySet[ServiceCredential]:
    return (
        ServiceCredential.objects.filter(deployment_id=launch.deployment_id)
        .defer("secret_hash")
        .order_by("revoked_at", "-created_at")
    )


def access_credential(launch: LaunchContext, credential_id: int) -> ServiceCredential:
    """A credential of this launch's deployment; another tenant's answers 404."""
    found = (
        ServiceCredential.objects.select_related("deployment")
        .filter(pk=credential_id, deployment_id=launch.deployment_id)
        .first()
    )
    if found is None:
        raise Http404("No such credential.")
    return found


def tool_keys(*, retired: int = RETIRED_KEYS_SHOWN) -> list[KeyRow]:
    """The current and next keys and the most recently retired ones (public facts only)."""
    fields = ("kid", "state", "created_at", "activated_at", "retired_at")
    live = ToolKey.objects.exclude(state=ToolKey.State.RETIRED).order_by("-state")
    old = ToolKey.objects.filter(state=ToolKey.State.RETIRED).order_by("-retired_at")[:retired]
    return [KeyRow(*row) for qs in (live, old) for row in qs.values_list(*fields)]


def retention_of(launch: LaunchContext, *, now: datetime, preview: bool) -> RetentionView:
    """The deployment's retention period; with `preview`, what a purge now would delete."""
    policy = RetentionPolicy.objects.filter(deployment_id=launch.deployment_id).first()
    years = policy.years if policy is not None else retention.DEFAULT_YEARS
    counts = None
    if preview:
        counts = retention.purge(deployment_of(launch), now=now, dry_run=True)
    return RetentionView(
        years=years,
        default_years=retention.DEFAULT_YEARS,
        min_years=retention.MIN_YEARS,
        max_years=retention.MAX_YEARS,
        cutoff=retention.cutoff_for(now, years),
        updated_at=policy.updated_at if policy is not None else None,
        updated_by=policy.updated_by if policy is not None else "",
        preview=counts,
    )


@transaction.atomic
def request_sync(*, course: Course, kind: str, actor: str) -> None:
    """Queue a roster or grades sync of the course now. Audited; enqueued on commit."""
    if kind not in SYNC_TASKS:
        raise SyncUnavailable(f"Unknown sync {kind!r}.")
    advertised = course.nrps_url if kind == CourseSync.Kind.ROSTER else course.ags_lineitems_url
    if not advertised:
        raise SyncUnavailable("The platform did not offer this service for the course.")
    append_audit(
        actor=actor,
        action="sync.requested",
        obj=course,
        deployment=course.deployment,
        data={"kind": kind},
    )
    task, course_id = SYNC_TASKS[CourseSync.Kind(kind)], course.pk
    transaction.on_commit(lambda: async_task(task, course_id))
