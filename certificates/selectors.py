"""Reads of certificates, always scoped: by launch (learner or course staff) or by serial."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse

from certificates import eligibility
from certificates.models import Certificate, CertificateSettings, CredentialTrack
from lti_tool.context import LaunchContext
from lti_tool.models import Course, Person, Role
from lti_tool.selectors import STAFF_ROLES


def settings_for(course: Course) -> CertificateSettings:
    """The course's settings, or unsaved defaults when the instructor has set none."""
    found = CertificateSettings.objects.filter(course=course).first()
    return found or CertificateSettings(course=course)


def public_url(cert: Certificate) -> str:
    return settings.TOOL_BASE_URL + reverse("certificates:verify", args=[cert.serial])


def certificate_status(cert: Certificate, *, now: datetime) -> str:
    return eligibility.status_of(
        expires_at=cert.expires_at,
        renewal_from=cert.renewal_from,
        revoked=cert.revoked_at is not None,
        signed=bool(cert.signature),
        now=now,
    )


def best_course_certificates(
    person: Person, course_ids: Sequence[int], *, now: datetime
) -> list[eligibility.TrackPart]:
    """Per course, the person's certificate that counts most (current, then latest expiry)."""
    rank = {eligibility.VALID: 0, eligibility.RENEWAL_REQUIRED: 1, eligibility.PENDING: 2}
    best: dict[int, tuple[int, Certificate]] = {}
    for cert in Certificate.objects.filter(person=person, course_id__in=course_ids):
        status = certificate_status(cert, now=now)
        score = rank.get(status, 9)
        held = best.get(cert.course_id or 0)
        if (
            held is None
            or score < held[0]
            or (score == held[0] and (cert.expires_at or now) > (held[1].expires_at or now))
        ):
            best[cert.course_id or 0] = (score, cert)
    parts = []
    for course_id in course_ids:
        found = best.get(course_id)
        held_status = certificate_status(found[1], now=now) if found else None
        if held_status == eligibility.PENDING:
            held_status = eligibility.VALID  # recorded and being rendered: it counts
        parts.append(
            eligibility.TrackPart(course_id, held_status, found[1].expires_at if found else None)
        )
    return parts


def by_serial(serial: str) -> Certificate:
    cert = (
        Certificate.objects.select_related("key", "course", "track", "deployment__platform")
        .filter(serial=serial.strip().upper())
        .first()
    )
    if cert is None:
        raise Http404("No certificate has this serial.")
    return cert


def by_pdf(content: bytes) -> Certificate | None:
    """The certificate whose stored PDF is exactly this file, if any."""
    digest = hashlib.sha256(content).hexdigest()
    return Certificate.objects.select_related("key").filter(pdf_sha256=digest).first()


def learner_certificates(person: Person) -> QuerySet[Certificate]:
    return (
        Certificate.objects.filter(person=person)
        .select_related("course", "track")
        .order_by("-issued_at")
    )


def access_certificate(launch: LaunchContext, serial: str) -> Certificate:
    """A certificate the launch may download: the learner's own, or one of staff's course."""
    cert = by_serial(serial)
    if cert.deployment_id != launch.deployment_id:
        raise Http404("No certificate has this serial.")
    if cert.person_id == launch.person_id:
        return cert
    if launch.role == Role.ADMIN:
        return cert
    if launch.role in STAFF_ROLES and cert.course_id == launch.course_id:
        return cert
    raise Http404("No certificate has this serial.")


def access_certificate_as_staff(launch: LaunchContext, serial: str) -> Certificate:
    """A certificate staff may revoke or re-issue: of their course (any course for admins).

    Holding a certificate oneself gives no right to act on it.
    """
    cert = by_serial(serial)
    same_tenant = cert.deployment_id == launch.deployment_id
    if same_tenant and (launch.role == Role.ADMIN or cert.course_id == launch.course_id):
        return cert
    raise Http404("No certificate has this serial.")


def revoked_indexes(deployment_id: int) -> list[int]:
    return list(
        Certificate.objects.filter(
            deployment_id=deployment_id, revoked_at__isnull=False
        ).values_list("status_index", flat=True)
    )


@dataclass(frozen=True)
class TrackProgress:
    title: str
    done: list[str]
    remaining: list[str]
    complete: bool
    expires_at: datetime | None


def track_progress(person: Person, *, now: datetime) -> list[TrackProgress]:
    """The tracks including a course the person is enrolled in, and where the person stands."""
    tracks = (
        CredentialTrack.objects.filter(courses__memberships__person=person)
        .distinct()
        .prefetch_related("courses")
        .order_by("title")
    )
    found = []
    for track in tracks:
        courses = {c.pk: c.title or c.label for c in track.courses.all()}
        state = eligibility.track_state(best_course_certificates(person, list(courses), now=now))
        found.append(
            TrackProgress(
                title=track.title,
                done=[courses[c] for c in state.done],
                remaining=[courses[c] for c in state.remaining],
                complete=state.complete,
                expires_at=state.expires_at,
            )
        )
    return found
