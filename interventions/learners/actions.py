"""What staff do about a learner: message now, snooze, assign an advisor, close the loop.

Every action is audited and scoped by the caller (views pass a membership they fetched through
`lti_tool.selectors.access_membership`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from completion.models import Progress
from interventions.delivery import messages
from interventions.delivery.outbox import enqueue_message
from interventions.models import AdvisorCase, CaseNote, Channel, OutboundMessage, Snooze
from lti_tool import webhooks
from lti_tool.audit.trail import append_audit
from lti_tool.models import Membership, Person


class ActionRefused(ValueError):
    """The action cannot be taken (an opted-out learner, an empty message)."""


@transaction.atomic
def send_message_now(
    *, membership: Membership, subject: str, text: str, by: Person, now: datetime | None = None
) -> OutboundMessage:
    """An instructor's own email to a learner: bypasses the nudge throttle, not opt-outs."""
    now = now or timezone.now()
    if not text.strip():
        raise ActionRefused("The message is empty.")
    contact = getattr(membership.person, "contact", None)
    if contact is not None and contact.email_opt_out:
        raise ActionRefused("This learner has opted out of email.")
    if not membership.person.email:
        raise ActionRefused("This learner has no email address on record.")
    body = messages.render("instructor_message", {"subject": subject, "text": text})
    message = enqueue_message(
        idempotency_key=f"staff:{membership.pk}:{by.pk}:{now.timestamp()}",
        deployment=membership.course.deployment,
        channel=Channel.EMAIL,
        to_address=membership.person.email,
        subject=body.subject or "A message from your instructor",
        body_text=body.body,
        body_html=messages.as_html(body.body),
        course=membership.course,
        membership=membership,
        reason="instructor:message",
        decided_by="email allowed (not opted out); sent by staff, not throttled",
    )
    append_audit(
        actor=f"person:{by.pk}",
        action="interventions.message_sent",
        obj=message,
        deployment=membership.course.deployment,
        data={"membership_id": membership.pk},
    )
    return message


@transaction.atomic
def snooze_learner(
    *, membership: Membership, days: int, reason: str, by: Person, now: datetime | None = None
) -> Snooze:
    now = now or timezone.now()
    if not 1 <= days <= 90:
        raise ActionRefused("Snooze for 1 to 90 days.")
    row = Snooze.objects.create(
        membership=membership,
        until=now + timedelta(days=days),
        reason=reason,
        by=f"person:{by.pk}",
        at=now,
    )
    OutboundMessage.objects.filter(
        membership=membership, status=OutboundMessage.Status.PENDING, reason__startswith="playbook:"
    ).update(status=OutboundMessage.Status.SUPPRESSED, last_error="learner snoozed by staff")
    append_audit(
        actor=f"person:{by.pk}",
        action="interventions.snoozed",
        obj=row,
        deployment=membership.course.deployment,
        data={"days": days, "reason": reason},
    )
    return row


@transaction.atomic
def assign_advisor(
    *, membership: Membership, advisor: Person, reason: str, by: Person, now: datetime | None = None
) -> AdvisorCase:
    now = now or timezone.now()
    if advisor.deployment_id != membership.course.deployment_id:
        raise ActionRefused("The advisor belongs to another institution.")
    progress = Progress.objects.filter(membership=membership).order_by("-as_of").first()
    case = AdvisorCase.objects.create(
        membership=membership,
        owner=advisor,
        percent_complete=progress.percent_complete if progress else 0.0,
        reason=reason or "Assigned by instructor",
        due_at=now + timedelta(days=2),
        opened_at=now,
    )
    announce_escalations([case])
    append_audit(
        actor=f"person:{by.pk}",
        action="interventions.advisor_assigned",
        obj=case,
        deployment=membership.course.deployment,
        data={"advisor": advisor.pk},
    )
    return case


@transaction.atomic
def mark_contacted(
    *, case: AdvisorCase, note: str, by: Person, now: datetime | None = None
) -> AdvisorCase:
    now = now or timezone.now()
    case.status = AdvisorCase.Status.CONTACTED
    case.save(update_fields=["status"])
    if note.strip():
        CaseNote.objects.create(case=case, author=by, text=note, at=now)
    append_audit(
        actor=f"person:{by.pk}",
        action="interventions.contacted",
        obj=case,
        deployment=case.membership.course.deployment,
        data={"note": note[:500]},
    )
    return case


@transaction.atomic
def resolve_case(
    *, case: AdvisorCase, resolution: str, by: Person, now: datetime | None = None
) -> AdvisorCase:
    if not resolution.strip():
        raise ActionRefused("Say how the case was resolved.")
    case.status, case.resolution = AdvisorCase.Status.RESOLVED, resolution
    case.resolved_at = now or timezone.now()
    case.save(update_fields=["status", "resolution", "resolved_at"])
    append_audit(
        actor=f"person:{by.pk}",
        action="interventions.case_resolved",
        obj=case,
        deployment=case.membership.course.deployment,
        data={"resolution": resolution[:500]},
    )
    return case


def send_notice(
    *,
    membership_id: int,
    idempotency_key: str,
    subject: str,
    body_text: str,
    link: str = "",
    reason: str = "",
    manager_copy: bool = False,
) -> OutboundMessage | None:
    """A transactional email another app asked for (expiry and deadline reminders): once per
    key. With `manager_copy`, the learner's manager (launch claim or HR roster) gets a copy.

    It bypasses the nudge throttle (it is not a nudge) but never an email opt-out.
    """
    membership = Membership.objects.select_related("person", "course__deployment").get(
        pk=membership_id
    )
    person = membership.person
    contact = getattr(person, "contact", None)
    text = f"{body_text}\n\n{link}" if link else body_text
    manager = str(person.attributes.get("manager_email", "")).strip()
    if manager_copy and manager:
        who = person.name or person.email or person.sub
        enqueue_message(
            idempotency_key=f"{idempotency_key}:manager",
            deployment=membership.course.deployment,
            channel=Channel.EMAIL,
            to_address=manager,
            subject=f"For your team: {who}: {subject}"[:300],
            body_text=f"A copy of a reminder sent to {who}.\n\n{text}",
            course=membership.course,
            reason=f"{reason}_manager"[:100],
            decided_by="manager copy of the last reminder (manager from claim or HR roster)",
        )
    if not person.email or (contact is not None and contact.email_opt_out):
        return None
    return enqueue_message(
        idempotency_key=idempotency_key,
        deployment=membership.course.deployment,
        channel=Channel.EMAIL,
        to_address=person.email,
        subject=subject,
        body_text=text,
        body_html=messages.as_html(text),
        course=membership.course,
        membership=membership,
        reason=reason[:100],
        decided_by="email allowed (not opted out); a reminder, not a nudge: no throttle",
    )


def announce_escalations(cases: list[AdvisorCase]) -> None:
    """Tell webhook subscribers of new advisor cases (one event per case)."""
    deployment = cases[0].membership.course.deployment
    if not webhooks.has_subscribers(deployment.pk):
        return
    for case in cases:
        m = case.membership
        webhooks.emit(
            deployment=deployment,
            event="intervention.escalated",
            event_id=webhooks.event_id_for("case", case.pk),
            data={"learner": m.person.sub, "course": m.course.context_id, "reason": case.reason,
                  "owner": case.owner.sub if case.owner else None,
                  "due_at": case.due_at.isoformat()},
        )  # fmt: skip
