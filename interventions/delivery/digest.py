"""The daily digest: staff who chose it get one email a day instead of one message per event."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from interventions.delivery import messages
from interventions.delivery.outbox import enqueue_message
from interventions.models import AdvisorCase, Channel, ContactPreference, Intervention
from lti_tool.models import Membership, Role

STAFF = [Role.ADVISOR, Role.INSTRUCTOR, Role.TEACHING_ASSISTANT, Role.ADMIN]


@transaction.atomic
def send_daily_digests(*, now: datetime | None = None) -> int:
    """Queue one digest per opted-in staff member with something to report; returns the count."""
    now = now or timezone.now()
    since = now - timedelta(days=1)
    queued = 0
    for preference in ContactPreference.objects.filter(daily_digest=True).select_related("person"):
        person = preference.person
        if not person.email:
            continue
        courses = list(
            Membership.objects.filter(
                person=person, role__in=STAFF, status=Membership.Status.ACTIVE
            ).values_list("course_id", flat=True)
        )
        cases = list(
            AdvisorCase.objects.filter(membership__course_id__in=courses)
            .exclude(status=AdvisorCase.Status.RESOLVED)
            .select_related("membership__person", "membership__course")
            .order_by("due_at")[:50]
        )
        escalated = Intervention.objects.filter(
            course_id__in=courses, planned_at__gte=since, case__isnull=False
        ).count()
        if not cases and not escalated:
            continue
        lines = [
            f"- {c.membership.person}: {c.reason} (due {c.due_at:%d %b}, {_whose(c, person.pk)})"
            for c in cases
        ]
        body = (
            f"{escalated} new escalation(s) in the last day; {len(cases)} open case(s):\n\n"
            + "\n".join(lines)
            + "\n"
        )
        enqueue_message(
            idempotency_key=f"digest:{person.pk}:{now:%Y-%m-%d}",
            deployment=person.deployment,
            channel=Channel.EMAIL,
            to_address=person.email,
            subject=f"Finishline daily digest: {len(cases)} open case(s)",
            body_text=body,
            body_html=messages.as_html(body),
            reason="digest",
            decided_by="daily digest chosen in the staff member's contact preferences",
        )
        queued += 1
    return queued


def _whose(case: AdvisorCase, person_id: int) -> str:
    if case.owner_id == person_id:
        return "yours"
    return "unassigned" if case.owner_id is None else "a colleague's"
