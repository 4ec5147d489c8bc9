"""The daily digests: staff who chose it get one email a day instead of one message per
event; each owner of cases over the daily cap gets one email a day listing them."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from interventions.delivery import messages
from interventions.delivery.outbox import enqueue_message
from interventions.models import AdvisorCase, Channel, ContactPreference, Intervention
from lti_tool.models import Membership, Person, Role

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
            .exclude(status__in=[AdvisorCase.Status.RESOLVED, AdvisorCase.Status.BATCHED])
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
        _email(
            person,
            key=f"digest:{person.pk}:{now:%Y-%m-%d}",
            subject=f"Finishline daily digest: {len(cases)} open case(s)",
            body=body,
            reason="digest",
            decided_by="daily digest chosen in the staff member's contact preferences",
        )
        queued += 1
    return queued


def _whose(case: AdvisorCase, person_id: int) -> str:
    if case.owner_id == person_id:
        return "yours"
    return "unassigned" if case.owner_id is None else "a colleague's"


CASE_DIGEST_LINES = 100  # a longer list ends with "and N more" and the link


def send_case_digests(*, now: datetime | None = None) -> int:
    """One email a day to each owner of cases batched over the daily cap, listing them with a
    link to the cases page; each case goes in one digest. Returns the emails queued."""
    now = now or timezone.now()
    waiting = (
        AdvisorCase.objects.filter(
            status=AdvisorCase.Status.BATCHED, digest_sent_at__isnull=True, owner__isnull=False
        )
        .select_related(
            "owner__deployment", "owner__contact", "membership__person", "membership__course"
        )
        .order_by("owner_id", "opened_at", "pk")
    )
    by_owner: dict[int, list[AdvisorCase]] = {}
    for case in waiting:
        by_owner.setdefault(case.owner_id or 0, []).append(case)
    queued = 0
    for cases in by_owner.values():
        queued += _send_case_digest(cases, now)
    return queued


def _batch_hash(cases: list[AdvisorCase]) -> str:
    ids = ",".join(str(pk) for pk in sorted(c.pk for c in cases))
    return hashlib.sha256(ids.encode()).hexdigest()[:16]


@transaction.atomic
def _send_case_digest(cases: list[AdvisorCase], now: datetime) -> int:
    owner = cases[0].owner
    assert owner is not None
    contact = getattr(owner, "contact", None)
    if not owner.email or (contact is not None and contact.email_opt_out):
        return 0  # they stay on the cases page, "in the daily digest"
    link = settings.TOOL_BASE_URL + reverse("interventions:course") + "?status=digest#cases"
    lines = [
        f"- {c.membership.person.name or c.membership.person.sub}: {c.reason} "
        f"({c.membership.course.title or c.membership.course.context_id}, "
        f"opened {c.opened_at:%d %b})"
        for c in cases[:CASE_DIGEST_LINES]
    ]
    more = len(cases) - len(lines)
    body = (
        f"{len(cases)} case(s) for you went over today's cap of new cases, so they are listed "
        "here rather than opened one by one:\n\n"
        + "\n".join(lines)
        + (f"\n- and {more} more" if more > 0 else "")
        + f"\n\nAll of them, sorted by priority, on the cases page (open Finishline from your "
        f"course first): {link}\n"
    )
    _email(
        owner,
        # Per batch, not per day: cases batched after a digest went out (the demo sends its
        # first at start) get their own email rather than being marked sent under the first.
        # Keyed on every case of the batch, so an overlapping run that found one more case
        # sends it rather than being taken for a repeat of the run without it.
        key=f"case-digest:{owner.pk}:{now:%Y-%m-%d}:{_batch_hash(cases)}",
        subject=f"Finishline: {len(cases)} more case(s) in today's digest",
        body=body,
        reason="case_digest",
        decided_by="cases over the daily cap are batched into one email a day",
    )
    AdvisorCase.objects.filter(pk__in=[c.pk for c in cases]).update(digest_sent_at=now)
    return 1


def _email(
    person: Person, *, key: str, subject: str, body: str, reason: str, decided_by: str
) -> None:
    """Queue one digest email to a staff member through the outbox (so it is sent once)."""
    enqueue_message(
        idempotency_key=key,
        deployment=person.deployment,
        channel=Channel.EMAIL,
        to_address=person.email,
        subject=subject,
        body_text=body,
        body_html=messages.as_html(body),
        reason=reason,
        decided_by=decided_by,
    )
