"""The receiver of completion's upward signal: one filter, one enqueue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import transaction
from django.dispatch import receiver
from django_q.tasks import async_task

from certificates.models import Certificate, CertificateSettings, GradebookPost
from completion.dispatch import credentials_wanted, criteria_met
from completion.reports.compliance import CredentialFacts
from lti_tool.audit import privacy
from lti_tool.models import Course, Membership, Person

CHUNK = 5000


@receiver(criteria_met)
def certify_completions(
    *, course_id: int, membership_ids: Sequence[int], as_of: date, **_: Any
) -> None:
    """Enqueue certificates and write-back for completers that have neither yet.

    Scoring sends every completer on every pass, so this filters to the new ones first.
    """
    writes_back = Course.objects.filter(pk=course_id).exclude(ags_lineitems_url="").exists()
    own = CertificateSettings.objects.filter(course_id=course_id).first()
    certifies = (
        own is None
        or own.enabled
        or CertificateSettings.objects.filter(renewal_course_id=course_id).exists()
    )
    if not certifies and not writes_back:
        return  # nothing to issue or post for this course
    new: list[int] = []
    for start in range(0, len(membership_ids), CHUNK):
        chunk = membership_ids[start : start + CHUNK]
        certified = (
            set(
                Certificate.objects.filter(membership_id__in=chunk).values_list(
                    "membership_id", flat=True
                )
            )
            if certifies
            else set(chunk)
        )
        posted = (
            set(
                GradebookPost.objects.filter(membership_id__in=chunk).values_list(
                    "membership_id", flat=True
                )
            )
            if writes_back
            else set(chunk)
        )
        new += [m for m in chunk if m not in certified or m not in posted]
    if new:
        transaction.on_commit(
            lambda: async_task("certificates.tasks.certify", course_id, new, as_of.isoformat())
        )


@receiver(credentials_wanted)
def credentials_of(*, membership_ids: Sequence[int], **_: Any) -> dict[int, CredentialFacts]:
    """Each learner's newest certificate of the course (a lapsed one included), for the
    compliance report's lifecycle status and audit columns."""
    enrolments = {
        (person, course): pk
        for pk, person, course in Membership.objects.filter(pk__in=membership_ids).values_list(
            "pk", "person_id", "course_id"
        )
    }
    found: dict[int, CredentialFacts] = {}
    rows = Certificate.objects.filter(
        person_id__in={p for p, _ in enrolments}, course_id__in={c for _, c in enrolments}
    ).order_by("issued_at", "pk")
    for cert in rows:
        membership_id = enrolments.get((cert.person_id, cert.course_id or 0))
        if membership_id is not None:
            found[membership_id] = CredentialFacts(
                serial=cert.serial,
                issued_on=cert.issued_at.date(),
                expires_on=cert.expires_at.date() if cert.expires_at else None,
                renewal_from=cert.renewal_from.date() if cert.renewal_from else None,
                score=cert.score,
                revoked=cert.revoked_at is not None,
            )
    return found


def _certificate_rows(person: Person) -> list[dict[str, Any]]:
    return privacy.rows_of(
        Certificate.objects.filter(person=person)
        .order_by("issued_at")
        .values("serial", "title", "learner_name", "issued_at", "expires_at", "revoked_at",
                "revoked_reason", "pdf_sha256")
    )  # fmt: skip


# The learner's "my data" export includes their certificates (lti_tool.audit.privacy).
privacy.register("certificates", _certificate_rows)
