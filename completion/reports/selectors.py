"""Reads behind the reports: which courses a launch may report on, learners' newest progress,
pauses and exemptions in force, earlier cohorts' completion, and the audit trail of a tenant.

Every read is scoped to the launch's deployment (and, below the admin role, to its course).
Shaping the rows is `completion.reports.compliance`; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery

from completion.dispatch import credentials_wanted
from completion.models import CompletionCriteria, Pause, Progress, StatusOverride
from completion.progress import criteria as crit
from completion.reports import compliance as reports
from lti_tool import selectors
from lti_tool.context import LaunchContext
from lti_tool.models import AuditEntry, Course, Membership, Person, Role

PROGRESS_FIELDS = (
    "score",
    "membership_id",
    "course_id",
    "as_of",
    "status",
    "status_label",
    "percent_complete",
    "due_on",
)


def report_courses(
    launch: LaunchContext, *, all_courses: bool, course_id: int | None = None
) -> list[Course]:
    """The courses a staff launch reports on: its own (an admin: any one, or all current ones)."""
    if all_courses:
        if launch.role != Role.ADMIN:
            raise PermissionDenied("Only an administrator may report across courses.")
        return list(
            selectors.courses_for(launch).filter(retired_at__isnull=True).order_by("title", "pk")
        )
    return [selectors.access_course(launch, course_id or launch.course_id or 0, staff=True)]


def learners_in(course_ids: Sequence[int]) -> QuerySet[Membership]:
    return Membership.objects.filter(course_id__in=course_ids, role=Role.LEARNER).exclude(
        status=Membership.Status.DELETED
    )


def newest_progress(
    course_ids: Sequence[int], *, today: date, memberships: Sequence[int] | None = None
) -> dict[int, Progress]:
    """Each learner's newest Progress on or before `today` (of `memberships` only, if given),
    by membership id."""
    newest_day = (
        Progress.objects.filter(membership_id=OuterRef("pk"), as_of__lte=today)
        .order_by("-as_of")
        .values("as_of")[:1]
    )
    learners = learners_in(course_ids)
    if memberships is not None:
        learners = learners.filter(pk__in=memberships)
    newest: dict[int, date] = dict(
        learners.annotate(day=Subquery(newest_day))
        .filter(day__isnull=False)
        .values_list("pk", "day")
    )
    found: dict[int, Progress] = {}
    # Learners are scored together, so there are few distinct days: one indexed read per day.
    for day in set(newest.values()):
        rows = Progress.objects.filter(course_id__in=course_ids, as_of=day).only(*PROGRESS_FIELDS)
        if memberships is not None:
            rows = rows.filter(membership_id__in=memberships)
        for row in rows:
            if newest.get(row.membership_id) == day:
                found[row.membership_id] = row
    return found


def pauses_today(
    course_ids: Sequence[int], *, today: date, memberships: Sequence[int] | None = None
) -> dict[int, date]:
    """The end of the pause covering `today`, by membership id."""
    found: dict[int, date] = {}
    pauses = Pause.objects.filter(
        membership__course_id__in=course_ids, starts_on__lte=today, until__gte=today
    )
    if memberships is not None:
        pauses = pauses.filter(membership_id__in=memberships)
    for mid, until in pauses.values_list("membership_id", "until"):
        found[mid] = max(until, found.get(mid, until))
    return found


def overrides_now(
    course_ids: Sequence[int], *, now: datetime, memberships: Sequence[int] | None = None
) -> dict[int, tuple[str, str]]:
    """The status override in force (status, reason) by membership id; cleared ones omitted."""
    latest: dict[int, tuple[str, str]] = {}
    overrides = StatusOverride.objects.filter(membership__course_id__in=course_ids, at__lte=now)
    if memberships is not None:
        overrides = overrides.filter(membership_id__in=memberships)
    for mid, status, reason in overrides.order_by("membership_id", "at", "id").values_list(
        "membership_id", "status", "reason"
    ):
        latest[mid] = (status, reason)
    return {k: v for k, v in latest.items() if v[0]}


def compliance_facts(
    courses: Sequence[Course],
    *,
    now: datetime,
    people: Sequence[int] | None = None,
    memberships: Sequence[int] | None = None,
) -> list[reports.LearnerFacts]:
    """Every current learner of the courses (or only `people`, by person id, or only
    `memberships`, by membership id) with their newest progress, pause and exemption."""
    ids = [c.pk for c in courses]
    today = now.astimezone(UTC).date()
    progress = newest_progress(ids, today=today, memberships=memberships)
    paused = pauses_today(ids, today=today, memberships=memberships)
    overrides = overrides_now(ids, now=now, memberships=memberships)
    chosen = learners_in(ids) if people is None else learners_in(ids).filter(person_id__in=people)
    if memberships is not None:
        chosen = chosen.filter(pk__in=memberships)
    learners = list(chosen.select_related("person", "course").order_by("pk"))
    credentials = credentials_of([m.pk for m in learners])
    instructors = instructors_of(ids)
    labels = dict(
        CompletionCriteria.objects.filter(course_id__in=ids).values_list(
            "course_id", "status_labels"
        )
    )
    facts = []
    for m in learners:
        p = progress.get(m.pk)
        override, reason = overrides.get(m.pk, ("", ""))
        facts.append(
            reports.LearnerFacts(
                membership_id=m.pk,
                course_id=m.course_id,
                course=m.course.title or m.course.context_id,
                name=m.person.name or m.person.email or m.person.sub,
                email=m.person.email,
                attributes=m.person.attributes or {},
                status=p.status if p else "",
                status_label=p.status_label if p else "",
                percent_complete=p.percent_complete if p else None,
                due_on=p.due_on if p else None,
                as_of=p.as_of if p else None,
                paused_until=paused.get(m.pk),
                override=override,
                override_reason=reason,
                credential=credentials.get(m.pk),
                score=p.score if p else None,
                instructor=instructors.get(m.course_id, ""),
                labels=labels.get(m.course_id) or {},
                today=today,
            )
        )
    return facts


def credentials_of(membership_ids: Sequence[int]) -> dict[int, reports.CredentialFacts]:
    """Each learner's credential, from whichever app answers `credentials_wanted`."""
    found: dict[int, reports.CredentialFacts] = {}
    for _, answer in credentials_wanted.send(sender=Course, membership_ids=membership_ids):
        found.update(cast(dict[int, reports.CredentialFacts], answer or {}))
    return found


def instructors_of(course_ids: Sequence[int]) -> dict[int, str]:
    """The first instructor of each course, by name, for the audit columns."""
    found: dict[int, str] = {}
    for course_id, name, sub in (
        Membership.objects.filter(course_id__in=course_ids, role=Role.INSTRUCTOR)
        .exclude(status=Membership.Status.DELETED)
        .order_by("course_id", "pk")
        .values_list("course_id", "person__name", "person__sub")
    ):
        found.setdefault(course_id, name or sub)
    return found


def compliance_report(
    courses: Sequence[Course], *, filters: reports.ReportFilters, title: str, now: datetime
) -> reports.ComplianceReport:
    return reports.build_report(
        compliance_facts(courses, now=now), filters=filters, title=title, now=now
    )


@dataclass(frozen=True)
class PastCohorts:
    courses: int
    learners: int
    completed: int

    @property
    def share(self) -> float | None:
        return self.completed / self.learners if self.learners else None


def past_cohorts(course: Course, *, now: datetime) -> PastCohorts:
    """Completion in the deployment's earlier finished cohorts: its other courses retired, or
    whose fixed timeline ended, before today. Their scored learners count; a learner completed
    when their newest progress says so."""
    today = now.astimezone(UTC).date()
    ended = CompletionCriteria.objects.filter(ends_on__lt=today).values("course_id")
    finished = list(
        Course.objects.filter(deployment_id=course.deployment_id)
        .exclude(pk=course.pk)
        .filter(Q(retired_at__lte=now) | Q(pk__in=ended))
        .values_list("pk", flat=True)
    )
    progress = newest_progress(finished, today=today) if finished else {}
    courses = len({p.course_id for p in progress.values()})
    done = sum(1 for p in progress.values() if p.status == crit.COMPLETED)
    return PastCohorts(courses, len(progress), done)


# --- the audit trail ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditLine:
    """One audit entry with exactly the values its hash covers (see `lti_tool.audit.trail`)."""

    id: int
    at: str  # ISO 8601, as hashed
    actor: str
    action: str
    object_type: str
    object_id: str
    deployment_id: int | None
    data: Any
    prev_hash: str
    hash: str


def audit_lines(*, deployment_id: int, since: date, until: date) -> Iterator[AuditLine]:
    """The deployment's audit entries from the start of `since` to the end of `until` (UTC)."""
    start = datetime.combine(since, time.min, tzinfo=UTC)
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)
    rows = AuditEntry.objects.filter(
        deployment_id=deployment_id, at__gte=start, at__lt=end
    ).order_by("id")
    for e in rows.iterator(chunk_size=2000):
        yield AuditLine(
            id=e.pk,
            at=e.at.isoformat(),
            actor=e.actor,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            deployment_id=e.deployment_id,
            data=e.data,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )


def team_of(launch: LaunchContext) -> list[int]:
    """The people of the launch's deployment whose manager (the `manager_email` claim or HR
    roster column) is the launching person; [] when they manage nobody or have no email."""
    email = (
        Person.objects.filter(pk=launch.person_id).values_list("email", flat=True).first() or ""
    ).strip()
    if not email:
        return []
    return list(
        Person.objects.filter(
            deployment_id=launch.deployment_id, attributes__manager_email__iexact=email
        ).values_list("pk", flat=True)
    )


def team_report(launch: LaunchContext, *, now: datetime) -> reports.ComplianceReport:
    """The compliance rows of the launching manager's team, across the deployment's courses."""
    team = team_of(launch)
    courses = list(
        Course.objects.filter(
            deployment_id=launch.deployment_id,
            retired_at__isnull=True,
            memberships__person_id__in=team,
        ).distinct()
    )
    return reports.build_report(
        compliance_facts(courses, now=now, people=team),
        filters=reports.ReportFilters(),
        title="My team",
        now=now,
    )
