"""Give the demo course a certificate that expires soon (12-month validity, issued eleven
months and ten days ago), so the compliance report and the reminders have one to show
(idempotent; after `seed_demo`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from certificates.models import Certificate, CertificateSettings
from certificates.services import issue_certificate
from lti_tool.models import Course, Membership

DEMO_COURSE = "demo-course-safety-101"
HOLDER = "demo-learner-6"


class Command(BaseCommand):
    help = "Seed an expiring certificate in the demo course."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        course = Course.objects.get(context_id=DEMO_COURSE)
        cert = seed_expiring_certificate(course)
        self.stdout.write(f"Demo certificate {cert.serial} expires on {cert.expires_at:%Y-%m-%d}.")


def seed_expiring_certificate(course: Course) -> Certificate:
    membership = Membership.objects.get(course=course, person__sub=HOLDER)
    existing = Certificate.objects.filter(membership=membership).first()
    if existing is not None:
        return existing
    CertificateSettings.objects.update_or_create(
        course=course, defaults={"validity_months": 12, "renewal_window_days": 30}
    )
    issued = timezone.now() - timedelta(days=365 - 25)
    cert = issue_certificate(membership, now=issued)
    assert cert is not None
    return cert
