"""Learner pause and resume: nothing is sent while paused; a welcome-back starts on return.

The pause itself is completion's record (risk reads it); this module adds what interventions
owe a paused learner: queued nudges are suppressed at once, and the planner's `returned`
playbook greets them on the return date.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from completion.models import Pause
from completion.risk.services import pause_learner as record_pause
from interventions.models import OutboundMessage
from lti_tool import webhooks
from lti_tool.audit.trail import append_audit
from lti_tool.models import Membership

MAX_PAUSE_DAYS = 120


class PauseRefused(ValueError):
    """The pause cannot be taken as asked (dates out of range, no reason)."""


@transaction.atomic
def pause_learner(
    *, membership: Membership, until: date, reason: str, by: str, today: date | None = None
) -> Pause:
    today = today or timezone.now().date()
    if until < today:
        raise PauseRefused("The return date must be today or later.")
    if until > today + timedelta(days=MAX_PAUSE_DAYS):
        raise PauseRefused(f"A pause can last at most {MAX_PAUSE_DAYS} days.")
    if not reason.strip():
        raise PauseRefused("Say briefly why you are pausing.")
    pause = record_pause(membership=membership, starts_on=today, until=until, reason=reason, by=by)
    OutboundMessage.objects.filter(
        membership=membership, status=OutboundMessage.Status.PENDING, reason__startswith="playbook:"
    ).update(status=OutboundMessage.Status.SUPPRESSED, last_error="learner paused")
    _announce(membership, "learner.paused", pause, {"until": until.isoformat(), "by": by})
    return pause


@transaction.atomic
def resume_learner(*, membership: Membership, by: str, today: date | None = None) -> int:
    """End the learner's current pause today (their return date becomes yesterday)."""
    today = today or timezone.now().date()
    current = Pause.objects.filter(membership=membership, starts_on__lte=today, until__gte=today)
    ended = 0
    for pause in current:
        append_audit(
            actor=by,
            action="completion.resumed",
            obj=pause,
            deployment=membership.course.deployment,
            data={"starts_on": pause.starts_on, "planned_until": pause.until},
        )
        if pause.starts_on >= today:
            pause.delete()  # resumed the day it began: it never took effect
        else:
            pause.until = today - timedelta(days=1)
            pause.save(update_fields=["until"])
        ended += 1
        _announce(membership, "learner.resumed", pause, {"on": today.isoformat(), "by": by})
    return ended


def _announce(membership: Membership, event: str, pause: Pause, data: dict[str, str]) -> None:
    deployment = membership.course.deployment
    if webhooks.has_subscribers(deployment.pk):
        webhooks.emit(
            deployment=deployment,
            event=event,
            event_id=webhooks.event_id_for(event, membership.pk, pause.starts_on, data),
            data={"learner": membership.person.sub, "course": membership.course.context_id, **data},
        )


def current_pause(membership: Membership, today: date | None = None) -> Pause | None:
    today = today or timezone.now().date()
    return (
        Pause.objects.filter(membership=membership, starts_on__lte=today, until__gte=today)
        .order_by("-until")
        .first()
    )
