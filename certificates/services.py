"""Issuing, rendering, signing, revoking and renewing certificates; completion write-back.

A certificate is issued in two steps that are each safe to run twice: `issue_certificate`
records it (a unique constraint makes a second completion a no-op), and `finish_certificate`
renders its PDF, stores the PDF's SHA-256 and signs the record. Recording never waits on
rendering, and a render that fails is retried by a sweep. Policy (dates, status) is in
`eligibility`; the PDF in `pdf`; keys and signatures in `signing`.
"""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from certificates import eligibility, pdf
from certificates.models import (
    Certificate,
    CertificateSettings,
    CredentialTrack,
    GradebookPost,
    StatusList,
)
from certificates.selectors import (
    best_course_certificates,
    certificate_status,
    public_url,
    settings_for,
)
from certificates.signing import active_key, sign_record
from completion.dispatch import learner_notice
from completion.models import Progress, StatusOverride
from completion.progress.criteria import COMPLETED
from lti_tool import webhooks
from lti_tool.audit.trail import append_audit
from lti_tool.models import Course, Membership, Person, Role

log = logging.getLogger(__name__)

SERIAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
GRADEBOOK_BACKOFF_CAP = timedelta(hours=6)


class CertificateRefused(ValueError):
    """A certificate action that must not happen (no reason given, already revoked, …)."""


def new_serial() -> str:
    chars = "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(12))
    return f"FL-{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def learner_name(person: Person) -> str:
    full = f"{person.given_name} {person.family_name}".strip()
    return person.name or full or person.email or person.sub


def _next_status_index(deployment_id: int) -> int:
    StatusList.objects.get_or_create(deployment_id=deployment_id)
    row = StatusList.objects.select_for_update().get(deployment_id=deployment_id)
    index = row.next_index
    row.next_index = index + 1
    row.save(update_fields=["next_index"])
    return index


def _record(
    *,
    person: Person,
    title: str,
    issued_at: datetime,
    settings: CertificateSettings | None,
    course: Course | None = None,
    track: CredentialTrack | None = None,
    membership: Membership | None = None,
    hours: float | None = None,
    score: float | None = None,
    renews: Certificate | None = None,
    expires_at: datetime | None = None,
    override: StatusOverride | None = None,
) -> Certificate:
    if settings is not None and expires_at is None:
        dates = eligibility.dates_for(
            issued_at,
            validity_months=settings.validity_months,
            renewal_window_days=settings.renewal_window_days,
        )
        expires_at, renewal_from = dates.expires_at, dates.renewal_from
    else:
        window = timedelta(days=settings.renewal_window_days if settings else 60)
        renewal_from = max(expires_at - window, issued_at) if expires_at else None
    return Certificate.objects.create(
        serial=new_serial(),
        deployment_id=person.deployment_id,
        person=person,
        course=course,
        track=track,
        membership=membership,
        renews=renews,
        learner_name=learner_name(person),
        title=title,
        hours=hours,
        score=score,
        issued_at=issued_at,
        expires_at=expires_at,
        renewal_from=renewal_from,
        page_size=settings.page_size if settings else "A4",
        status_index=_next_status_index(person.deployment_id),
        override_by=override.by if override else "",
        override_reason=override.reason if override else "",
    )


def _hours(settings: CertificateSettings, progress: Progress | None) -> float | None:
    if settings.hours is not None:
        return settings.hours
    if progress is None or progress.time_on_task_seconds <= 0:
        return None
    return max(round(progress.time_on_task_seconds / 1800) / 2, 0.5)  # to the half hour


def completed_by_override(membership: Membership) -> StatusOverride | None:
    """The instructor's override to completed in force for the enrolment, if that is its newest."""
    newest = StatusOverride.objects.filter(membership=membership).order_by("-at", "-pk").first()
    return newest if newest is not None and newest.status == COMPLETED else None


def issue_certificate(
    membership: Membership, *, now: datetime, renews: Certificate | None = None
) -> Certificate | None:
    """Record the course certificate a completed enrolment earned; None if already issued.

    Completed by an instructor's override rather than by the criteria: the certificate records
    who overrode and why, and so does the audit entry.
    """
    course = membership.course
    settings = settings_for(course)
    if not settings.enabled and renews is None:
        return None
    progress = (
        Progress.objects.filter(membership=membership, criteria_met=True).order_by("-as_of").first()
    )
    target = renews.course if renews is not None and renews.course else course
    target_settings = settings_for(target) if target != course else settings
    override = None if progress is not None else completed_by_override(membership)
    try:
        with transaction.atomic():
            cert = _record(
                person=membership.person,
                title=target_settings.title or target.title or target.label,
                issued_at=now,
                settings=target_settings,
                course=target,
                membership=membership,
                hours=_hours(target_settings, progress),
                score=progress.score if progress else None,
                renews=renews,
                override=override,
            )
            append_audit(
                actor=override.by if override else "finishline",
                action="certificate.issue",
                obj=cert,
                deployment=course.deployment,
                data={
                    "serial": cert.serial,
                    "renews": renews.serial if renews else None,
                    **(
                        {"awarded_by": "staff override", "override_reason": override.reason}
                        if override
                        else {}
                    ),
                },
            )
    except IntegrityError:
        return None  # a concurrent or earlier run issued it
    return cert


@transaction.atomic
def finish_certificate(certificate_id: int) -> Certificate:
    """Render the PDF, store its SHA-256 and sign the record (once; a second call returns)."""
    cert = (
        Certificate.objects.select_for_update(of=("self",))
        .select_related("course", "renews")
        .get(pk=certificate_id)
    )
    if cert.signature:
        return cert
    content = render_certificate_pdf(cert)
    cert.pdf_sha256 = hashlib.sha256(content).hexdigest()
    cert.pdf.save(f"{cert.serial}.pdf", ContentFile(content), save=False)
    key = active_key()
    cert.key = key
    cert.signature = sign_record(cert, key)
    cert.save(update_fields=["pdf", "pdf_sha256", "key", "signature"])
    announce(cert, "certificate.issued")
    return cert


def announce(cert: Certificate, event: str, **extra: object) -> None:
    """Tell the deployment's webhook subscribers about a certificate (once per event)."""
    if not webhooks.has_subscribers(cert.deployment_id):
        return
    webhooks.emit(
        deployment=cert.deployment,
        event=event,
        event_id=webhooks.event_id_for(event, cert.serial),
        data={
            "serial": cert.serial,
            "learner": cert.person.sub,
            "course": cert.course.context_id if cert.course else None,
            "track": cert.track.title if cert.track else None,
            "title": cert.title,
            "issued_at": cert.issued_at.isoformat(),
            "expires_at": cert.expires_at.isoformat() if cert.expires_at else None,
            "verify_url": public_url(cert),
            **extra,
        },
    )


def certificate_view(
    cert: Certificate, settings: CertificateSettings | None
) -> pdf.CertificateView:
    url = public_url(cert)
    course = cert.course
    return pdf.CertificateView(
        learner_name=cert.learner_name,
        title=cert.title,
        course_title=course.title if course else cert.title,
        organisation=(settings.organisation if settings else "") or "",
        issued_on=cert.issued_at.strftime("%-d %B %Y"),
        expires_on=cert.expires_at.strftime("%-d %B %Y") if cert.expires_at else "",
        hours=f"{cert.hours:g}" if cert.hours else "",
        score=f"{cert.score:.0%}" if cert.score is not None else "",
        serial=cert.serial,
        verify_url=url,
        qr_data_uri=pdf.qr_data_uri(url),
        logo_data_uri=(settings.logo_data_uri if settings else "") or "",
        signatories=tuple(settings.signatories if settings else ()),
        page_size=cert.page_size,
        renewal_of=cert.renews.serial if cert.renews else "",
    )


def render_certificate_pdf(cert: Certificate) -> bytes:
    settings = settings_for(cert.course) if cert.course else None
    html = pdf.render_html(
        settings.template_html if settings else "", certificate_view(cert, settings)
    )
    return pdf.render_pdf(html)


# --- completion ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueSummary:
    issued: list[int]
    write_backs: int


def handle_completions(
    course_id: int, membership_ids: Sequence[int], *, now: datetime
) -> IssueSummary:
    """Certificates, renewals, track certificates and write-back for learners who completed."""
    course = Course.objects.select_related("deployment").get(pk=course_id)
    memberships = list(
        Membership.objects.select_related("person", "course__deployment").filter(
            pk__in=membership_ids, course=course, role=Role.LEARNER
        )
    )
    issued: list[int] = []
    for membership in memberships:
        issued += [c.pk for c in _certify(membership, now=now)]
    write_backs = queue_write_backs(memberships, now=now) if course.ags_lineitems_url else 0
    announce_completions(course, memberships, now=now)
    for cert_id in issued:
        try:
            finish_certificate(cert_id)
        except Exception:  # the record stands; the pending sweep renders it again
            log.exception("rendering certificate %s failed", cert_id)
    return IssueSummary(issued, write_backs)


def announce_completions(course: Course, memberships: list[Membership], *, now: datetime) -> None:
    if not memberships or not webhooks.has_subscribers(course.deployment_id):
        return
    for m in memberships:
        webhooks.emit(
            deployment=course.deployment,
            event="completion.achieved",
            event_id=webhooks.event_id_for("completion", m.pk),
            data={"learner": m.person.sub, "course": course.context_id, "title": course.title},
            occurred_at=now,
        )


def announce_expiries(*, now: datetime, within: timedelta = timedelta(days=2)) -> int:
    """Expired events for certificates that expired lately (re-running sends nothing twice)."""
    expired = Certificate.objects.filter(
        expires_at__lte=now, expires_at__gt=now - within, revoked_at__isnull=True
    ).select_related("person", "course", "track", "deployment")
    count = 0
    for cert in expired.iterator(chunk_size=500):
        announce(cert, "certificate.expired")
        count += 1
    return count


def _certify(membership: Membership, *, now: datetime) -> list[Certificate]:
    made: list[Certificate] = []
    # A refresher enrolment renews once; later passes over the same completion do nothing.
    done = Certificate.objects.filter(membership=membership, renews__isnull=False).exists()
    renewed = [] if done else renewals_earned(membership)
    for old in renewed:
        cert = issue_certificate(membership, now=now, renews=old)
        made += [cert] if cert else []
    if not renewed and not done:  # a refresher that renewed earns no certificate of its own
        cert = issue_certificate(membership, now=now)
        made += [cert] if cert else []
    if made:
        made += issue_track_certificates(membership.person, now=now)
    return made


def renewals_earned(membership: Membership) -> list[Certificate]:
    """The person's certificates this (refresher) course renews: current or expired, not renewed."""
    renewed_courses = CertificateSettings.objects.filter(renewal_course=membership.course).values(
        "course"
    )
    return list(
        Certificate.objects.select_related("course")
        .filter(
            person=membership.person,
            course__in=renewed_courses,
            revoked_at__isnull=True,
            renewals__isnull=True,
        )
        .exclude(membership__course=membership.course, renews__isnull=True)
    )


def issue_track_certificates(person: Person, *, now: datetime) -> list[Certificate]:
    """A track certificate for each track the person has now completed (and holds none current)."""
    made = []
    tracks = CredentialTrack.objects.filter(deployment_id=person.deployment_id).prefetch_related(
        "courses"
    )
    for track in tracks:
        course_ids = [c.pk for c in track.courses.all()]
        if not course_ids:
            continue
        state = eligibility.track_state(best_course_certificates(person, course_ids, now=now))
        if not state.complete:
            continue
        latest = (
            Certificate.objects.filter(person=person, track=track).order_by("-issued_at").first()
        )
        if latest and eligibility.is_current(certificate_status(latest, now=now)):
            continue
        with transaction.atomic():
            cert = _record(
                person=person,
                title=track.title,
                issued_at=now,
                settings=None,
                track=track,
                renews=latest,
                expires_at=state.expires_at,
            )
            append_audit(
                actor="finishline",
                action="certificate.issue",
                obj=cert,
                deployment=person.deployment,
                data={"serial": cert.serial, "track": track.pk},
            )
        made.append(cert)
    return made


# --- revocation and re-issue ---------------------------------------------------------------


@transaction.atomic
def revoke_certificate(cert: Certificate, *, reason: str, by: str, now: datetime) -> Certificate:
    reason = reason.strip()
    if not reason:
        raise CertificateRefused("A revocation needs a reason.")
    cert = Certificate.objects.select_for_update().get(pk=cert.pk)
    if cert.revoked_at is not None:
        raise CertificateRefused(f"{cert.serial} is already revoked.")
    cert.revoked_at, cert.revoked_reason, cert.revoked_by = now, reason, by
    cert.save(update_fields=["revoked_at", "revoked_reason", "revoked_by"])
    append_audit(
        actor=by,
        action="certificate.revoke",
        obj=cert,
        deployment=cert.deployment,
        data={"serial": cert.serial, "reason": reason},
    )
    announce(cert, "certificate.revoked", reason=reason)
    return cert


def reissue_certificate(
    cert: Certificate, *, reason: str, by: str, now: datetime, learner_name: str = ""
) -> Certificate:
    """A corrected copy (same completion date and expiry); the original is revoked, naming it."""
    if not reason.strip():
        raise CertificateRefused("A re-issue needs a reason.")
    if cert.revoked_at is not None:
        raise CertificateRefused(f"{cert.serial} is revoked; re-issue from a current certificate.")
    with transaction.atomic():
        copy = Certificate.objects.create(
            serial=new_serial(),
            deployment=cert.deployment,
            person=cert.person,
            course=cert.course,
            track=cert.track,
            membership=cert.membership,
            renews=None,
            reissue_of=cert,
            learner_name=learner_name.strip() or cert.learner_name,
            title=cert.title,
            hours=cert.hours,
            score=cert.score,
            issued_at=cert.issued_at,
            expires_at=cert.expires_at,
            renewal_from=cert.renewal_from,
            page_size=cert.page_size,
            status_index=_next_status_index(cert.deployment_id),
        )
        revoke_certificate(
            cert, reason=f"re-issued as {copy.serial}: {reason.strip()}", by=by, now=now
        )
        append_audit(
            actor=by,
            action="certificate.reissue",
            obj=copy,
            deployment=cert.deployment,
            data={"serial": copy.serial, "replaces": cert.serial, "reason": reason.strip()},
        )
    return finish_certificate(copy.pk)


# --- expiry reminders ----------------------------------------------------------------------


def send_expiry_reminders(*, now: datetime) -> int:
    """Ask the interventions channels to remind each learner whose certificate expires soon."""
    horizon = now + timedelta(days=max(eligibility.DEFAULT_REMINDER_DAYS) + 366)
    due = (
        Certificate.objects.filter(
            expires_at__gt=now, expires_at__lte=horizon, revoked_at__isnull=True, renewals=None
        )
        .exclude(course=None)
        .select_related("course__certificate_settings", "membership")
    )
    sent = 0
    for cert in due.iterator(chunk_size=500):
        settings = settings_for(cert.course) if cert.course else None
        days = (settings.reminder_days if settings else None) or eligibility.DEFAULT_REMINDER_DAYS
        which = eligibility.reminder_due(
            expires_at=cert.expires_at, sent=cert.reminders_sent, days=days, now=now
        )
        if which is None or cert.membership_id is None:
            continue
        _remind(cert, which, settings, last=which == min(days))
        cert.reminders_sent = [*cert.reminders_sent, which]
        cert.save(update_fields=["reminders_sent"])
        sent += 1
    return sent


def _remind(
    cert: Certificate, days: int, settings: CertificateSettings | None, *, last: bool
) -> None:
    """The learner's reminder; the last one before expiry goes to their manager too."""
    renewal = settings.renewal_course if settings else None
    expires = cert.expires_at.strftime("%-d %B %Y") if cert.expires_at else ""
    where = f" Renew it with {renewal.title or renewal.label}." if renewal else ""
    learner_notice.send(
        sender=Certificate,
        membership_id=cert.membership_id,
        idempotency_key=f"certificate-expiry:{cert.serial}:{days}",
        subject=f"Your certificate for {cert.title} expires on {expires}",
        body_text=(
            f"Your certificate {cert.serial} for {cert.title} expires on {expires}, "
            f"in {days} days.{where} Open the course from your LMS to see your renewal options."
        ),
        link=public_url(cert),
        reason=f"certificate_expiry_{days}",
        manager_copy=last,
    )


# --- LMS gradebook write-back ---------------------------------------------------------------


def queue_write_backs(memberships: Iterable[Membership], *, now: datetime) -> int:
    """Record the completions to post to the gradebook (once each) and enqueue the posting."""
    rows = []
    for m in memberships:
        progress = (
            Progress.objects.filter(membership=m, criteria_met=True).order_by("-as_of").first()
        )
        score = 100.0 if progress is None or progress.score is None else progress.score * 100
        rows.append(GradebookPost(membership=m, score=score, completed_at=now, next_attempt_at=now))
    made = GradebookPost.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(lambda: async_task("certificates.tasks.post_gradebook"))
    return len(made)


def post_due_write_backs(*, now: datetime, limit: int = 200) -> tuple[int, int]:
    """Post due completions; a refused or failed post waits longer each time. (posted, failed)"""
    from completion.ingest.lms.sync import post_completion_score

    posted = failed = 0
    due = GradebookPost.objects.filter(posted_at__isnull=True, next_attempt_at__lte=now)
    for row in due.select_related("membership__course", "membership__person")[:limit]:
        try:
            post_completion_score(
                course=row.membership.course,
                user_id=row.membership.person.sub,
                score=row.score,
                completed=True,
                timestamp=row.completed_at,
            )
        except Exception as exc:  # whatever failed, the row keeps the error and retries later
            row.attempts += 1
            row.last_error = str(exc)[:2000]
            row.next_attempt_at = now + _backoff(row.attempts)
            row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            log.warning("gradebook write-back failed for membership %s: %s", row.membership_id, exc)
            failed += 1
            continue
        row.posted_at, row.attempts = now, row.attempts + 1
        row.save(update_fields=["posted_at", "attempts"])
        posted += 1
    return posted, failed


def _backoff(attempts: int) -> timedelta:
    base = timedelta(minutes=2 ** min(attempts, 10))
    return min(base, GRADEBOOK_BACKOFF_CAP) * random.uniform(0.8, 1.2)  # jitter spreads retries


def pending_certificates(*, older_than: datetime) -> list[int]:
    """Certificates recorded but not yet rendered and signed (a render that failed)."""
    return list(
        Certificate.objects.filter(Q(signature="") & Q(created_at__lte=older_than)).values_list(
            "pk", flat=True
        )[:500]
    )


def record_settings_change(course: Course, *, by: str) -> None:
    append_audit(
        actor=by,
        action="certificate.settings",
        obj=settings_for(course),
        deployment=course.deployment,
        data={"course": course.pk},
    )


def sample_html(course: Course, source: str, *, page_size: str) -> str:
    """The template filled with a sample learner, for the settings page's live preview."""
    settings = settings_for(course)
    sample = Certificate(
        serial="FL-SAMP-LE00-0000",
        deployment_id=course.deployment_id,
        course=course,
        learner_name="Alex Sample",
        title=settings.title or course.title or course.label,
        hours=settings.hours or 6.5,
        score=0.92,
        issued_at=timezone.now(),
        expires_at=(
            eligibility.add_months(timezone.now(), settings.validity_months)
            if settings.validity_months
            else None
        ),
        page_size=page_size if page_size in ("A4", "letter") else "A4",
        status_index=0,
    )
    return pdf.render_html(source, certificate_view(sample, settings))
