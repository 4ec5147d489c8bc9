"""Deadline reminders: 30, 14 and 3 days before a learner's deadline by default (a course sets
its own in `CompletionCriteria.reminder_days`), to the learner, and at the last one to their
manager too. Each reminder goes once (its idempotency key names the deadline and the day)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from completion.models import CompletionCriteria, Progress
from interventions.learners.actions import send_notice
from interventions.models import OutboundMessage

DEFAULT_DAYS = (30, 14, 3)


def reminder_for(due_on: date, today: date, days: tuple[int, ...]) -> int | None:
    """The reminder (days before) due today: the nearest one whose moment has come."""
    left = (due_on - today).days
    if left < 0:
        return None
    passed = sorted(d for d in days if left <= d)
    return passed[0] if passed else None


@transaction.atomic
def send_deadline_reminders(*, now: datetime | None = None) -> int:
    """Queue the deadline reminders due today across all courses; returns how many were new."""
    today = (now or timezone.now()).date()
    settings = dict(CompletionCriteria.objects.values_list("course_id", "reminder_days"))
    newest = (
        # Scoring runs nightly: a week back finds every current learner's newest row.
        Progress.objects.filter(as_of__lte=today, as_of__gte=today - timedelta(days=7))
        .filter(criteria_met=False, due_on__gte=today)
        .order_by("membership_id", "-as_of")
        .values_list("membership_id", "course_id", "due_on", "as_of")
    )
    due: list[tuple[int, date, int, bool]] = []  # membership, deadline, reminder, to the manager
    seen: set[int] = set()
    for membership_id, course_id, due_on, _as_of in newest:
        if membership_id in seen or due_on is None:
            continue
        seen.add(membership_id)
        days = tuple(settings.get(course_id) or DEFAULT_DAYS)
        which = reminder_for(due_on, today, days)
        if which is not None:
            due.append((membership_id, due_on, which, which == min(days)))
    keys = {m: f"deadline:{m}:{on.isoformat()}:{which}" for m, on, which, _ in due}
    # A second run the same day queues nothing new, and counts nothing.
    queued_before = set(
        OutboundMessage.objects.filter(idempotency_key__in=keys.values()).values_list(
            "idempotency_key", flat=True
        )
    )
    queued = 0
    for membership_id, due_on, which, manager_copy in due:
        sent = send_notice(
            membership_id=membership_id,
            idempotency_key=keys[membership_id],
            subject=f"Your course is due on {due_on:%-d %B %Y}",
            body_text=(
                f"Your course is due on {due_on:%-d %B %Y}, in {(due_on - today).days} days. "
                "Open it from your LMS to keep going."
            ),
            reason=f"deadline_{which}",
            manager_copy=manager_copy,
        )
        queued += sent is not None and keys[membership_id] not in queued_before
    return queued
