"""One message to every learner of a roster filter ("Message these N learners").

The instructor's wording takes the playbook messages' placeholders; each learner's copy goes
through the same guardrails as a playbook step (`planning.throttle`: opt-outs, pauses and
snoozes, quiet hours, the nudge throttle) and is recorded as an intervention (step
`staff_message`) plus an outbox message, so the funnel and recovery figures count it as a
message from staff. Each copy carries a tracked link back to where the learner stopped (as
playbook messages do), so its clicks count in the funnel. The preview keeps its recipients in a
draft and Send goes to exactly them (the guardrails applied at Send), bar any who are no
longer active learners of the course by then. A draft is good for `DRAFT_LIFETIME`; unsent
drafts are purged after `DRAFT_KEPT`. Large filters are delivered by a task; each run is safe
to repeat.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.template import TemplateSyntaxError
from django.utils import timezone
from django_q.tasks import async_task

from completion.models import Pause, Progress
from interventions.delivery import clicks, messages
from interventions.measurement.outcomes import STAFF_PLAYBOOK
from interventions.models import (
    BulkMessage,
    Channel,
    ContactPreference,
    Intervention,
    OutboundMessage,
    Snooze,
)
from interventions.planning import throttle
from interventions.planning.day_facts import LEARNER_FACING_LOOKBACK, next_steps_of, staff_steps
from interventions.planning.personalise import NextStep
from lti_tool.audit.trail import append_audit
from lti_tool.db.bulk import insert_rows
from lti_tool.models import Course, Membership, Person, Role

STEP = "staff_message"
PLAYBOOK = STAFF_PLAYBOOK
# Up to this many recipients are queued while the instructor waits; more go to a task.
INLINE_LIMIT = 200
CHUNK = 500
PLACEHOLDERS = ("first_name", "learner", "course", "percent", "due", "link")
# Added under a wording that does not place `{{ link }}` itself, when the learner has one.
LINK_LINE = "\n\nContinue your course: {link}\n"
# A preview older than this is stale (the roster and the wording's context may have moved on):
# Send refuses it and the instructor previews again.
DRAFT_LIFETIME = timedelta(hours=1)
# Unsent drafts are kept this long, then purged (`purge_stale_drafts`).
DRAFT_KEPT = timedelta(days=1)
# The reason counted for a chosen learner withdrawn, deleted or no longer a learner at Send.
LEFT = "no longer enrolled"


class BulkRefused(ValueError):
    """The bulk message cannot be sent as asked (empty, no recipients, bad placeholders)."""


def _context(
    course: Course, m: Membership, progress: Progress | None, link: str = ""
) -> dict[str, object]:
    person = m.person
    return {
        "link": link,
        "first_name": person.given_name or (person.name.split(" ")[0] if person.name else "there"),
        "learner": person.name or person.email or person.sub,
        "course": course.title or course.context_id,
        "percent": round(progress.percent_complete) if progress else 0,
        "due": progress.due_on.strftime("%-d %B %Y") if progress and progress.due_on else "",
    }


def render_for(course: Course, m: Membership, subject: str, text: str) -> messages.MessageText:
    """The wording as this learner receives it; raises BulkRefused on a broken placeholder."""
    progress = Progress.objects.filter(membership=m).order_by("-as_of").first()
    try:
        return messages.render(
            "instructor_message",
            _context(course, m, progress),
            messages.MessageText(subject, text),
        )
    except TemplateSyntaxError as exc:
        raise BulkRefused(f"A placeholder is not written correctly: {exc}") from exc


def preview(
    course: Course, membership_ids: list[int], *, subject: str, text: str
) -> messages.MessageText:
    """The message as the first chosen learner would read it."""
    _check(membership_ids, subject, text)
    first = Membership.objects.select_related("person").get(pk=membership_ids[0], course=course)
    return render_for(course, first, subject, text)


def _check(membership_ids: list[int], subject: str, text: str) -> None:
    if not subject.strip() or not text.strip():
        raise BulkRefused("Write a subject and a message.")
    if not membership_ids:
        raise BulkRefused("No learner matches these filters.")


@transaction.atomic
def draft_bulk_message(
    *,
    course: Course,
    membership_ids: list[int],
    filters: dict[str, str],
    subject: str,
    text: str,
    by: Person,
    now: datetime | None = None,
) -> tuple[BulkMessage, messages.MessageText]:
    """Keep the previewed wording and recipients as a draft, and the first learner's copy.

    Send goes to exactly these learners: scores that change before Send change nobody's copy.
    """
    shown = preview(course, membership_ids, subject=subject, text=text)
    draft = BulkMessage.objects.create(
        course=course,
        by=by,
        subject=subject.strip()[:300],
        body=text,
        filters=filters,
        membership_ids=list(membership_ids),
        created_at=now or timezone.now(),
    )
    return draft, shown


@transaction.atomic
def send_bulk_message(
    *, course: Course, draft_id: int, by: Person, now: datetime | None = None
) -> BulkMessage:
    """Send a previewed draft (audited) to the learners it froze; each copy still goes through
    the guardrails as they stand now. At once for a few learners, by a task after commit for
    many. A draft already sent (a second click) is returned as it is."""
    now = now or timezone.now()
    bulk = BulkMessage.objects.select_for_update().filter(pk=draft_id, course=course, by=by).first()
    if bulk is None:
        raise BulkRefused("This preview is no longer available: preview the message again.")
    if bulk.sent_at is not None:
        return bulk
    if now - bulk.created_at > DRAFT_LIFETIME:
        raise BulkRefused(
            "This preview is more than an hour old: preview the message again before sending."
        )
    bulk.sent_at = now
    bulk.save(update_fields=["sent_at"])
    ids = [int(i) for i in bulk.membership_ids]
    append_audit(
        actor=f"person:{by.pk}",
        action="interventions.bulk_message",
        obj=bulk,
        deployment=course.deployment,
        data={"learners": len(ids), "filters": bulk.filters, "subject": bulk.subject},
    )
    if len(ids) <= INLINE_LIMIT:
        return deliver_bulk_message(bulk.pk, now=now)
    transaction.on_commit(lambda: async_task("interventions.tasks.deliver_bulk", bulk.pk))
    return bulk


@transaction.atomic
def deliver_bulk_message(bulk_id: int, *, now: datetime | None = None) -> BulkMessage:
    """Decide, record and queue each learner's copy; then count what became of them.

    Safe to run twice: each learner has one intervention and one outbox row per bulk message.
    """
    now = now or timezone.now()
    bulk = BulkMessage.objects.select_related("course__deployment", "by").get(pk=bulk_id)
    ids = [int(i) for i in bulk.membership_ids]
    where = next_steps_of(bulk.course)  # the link back: where each learner stopped
    for start in range(0, len(ids), CHUNK):
        _deliver_chunk(bulk, ids[start : start + CHUNK], now, where)
    _count(bulk)
    bulk.finished_at = now
    bulk.save(update_fields=["queued", "scheduled", "suppressed", "suppressed_reasons",
                             "finished_at"])  # fmt: skip
    return bulk


def _deliver_chunk(
    bulk: BulkMessage, ids: list[int], now: datetime, where: dict[int, NextStep]
) -> None:
    course = bulk.course
    # Only learners still enrolled as learners now; the others are counted by `_count`.
    members = list(
        Membership.objects.filter(
            pk__in=ids, course=course, role=Role.LEARNER, status=Membership.Status.ACTIVE
        ).select_related("person")
    )
    people = [m.person_id for m in members]
    contacts = {c.person_id: c for c in ContactPreference.objects.filter(person_id__in=people)}
    paused = _paused(ids, now)
    recent = _recent_nudges(ids, now)
    progress = _latest_progress(ids)
    by = bulk.by.name if bulk.by else "staff"
    interventions: list[list[Any]] = []
    outbox: list[tuple[Any, ...]] = []
    episode = f"bulk:{bulk.pk}"
    for m in members:
        recipient = _recipient(m, contacts.get(m.person_id), paused.get(m.pk))
        decision = throttle.decide(
            now=now, channel=Channel.EMAIL, recipient=recipient, recent_nudges=recent[m.pk]
        )
        why = throttle.deciding_preference(recipient, Channel.EMAIL, decision)
        if decision.allowed and not m.person.email:
            decision = throttle.Decision(False, None, "no email address on record")
            why = "email: no email address on record"
        status = _status(decision, now)
        detail = f"{why} (from {by})"[:300]
        interventions.append([m.pk, course.pk, PLAYBOOK, STEP, episode, 1, [Channel.EMAIL],
                              status, detail, now, decision.send_at])  # fmt: skip
        if not decision.allowed:
            continue
        step = where.get(m.person_id)
        subject, body, token, target = _tracked_text(
            bulk, _context(course, m, progress.get(m.pk), step.url if step else "")
        )
        outbox.append((why[:300], f"bulk:{bulk.pk}:{m.pk}:email", course.deployment_id, course.pk,
                       m.pk, Channel.EMAIL, m.person.email, subject, body,
                       messages.as_html(body), f"staff:bulk:{bulk.pk}",
                       decision.send_at or now, token or None, target))  # fmt: skip
    insert_rows(Intervention, INTERVENTION_FIELDS, interventions)
    insert_rows(OutboundMessage, MESSAGE_FIELDS, outbox)


INTERVENTION_FIELDS = ("membership_id", "course_id", "playbook", "step", "episode", "tier",
                       "channels", "status", "detail", "planned_at", "send_at")  # fmt: skip
MESSAGE_FIELDS = ("decided_by", "idempotency_key", "deployment_id", "course_id", "membership_id",
                  "channel", "to_address", "subject", "body_text", "body_html", "reason",
                  "not_before", "click_token", "click_target")  # fmt: skip


def _tracked_text(bulk: BulkMessage, context: dict[str, object]) -> tuple[str, str, str, str]:
    """One learner's copy: subject, body, and its tracked link (token and target, or empty).
    The course link goes where the wording puts `{{ link }}`, else on a line of its own."""
    text = messages.render(
        "instructor_message", context, messages.MessageText(bulk.subject, bulk.body)
    )
    link, body = str(context["link"]), text.body
    if link and link not in body:
        body = body.rstrip("\n") + LINK_LINE.format(link=link)
    body, token, target = clicks.track(body, link)
    return text.subject[:300], body, token, target


def _status(decision: throttle.Decision, now: datetime) -> str:
    if not decision.allowed:
        return Intervention.Status.SUPPRESSED
    if decision.send_at is not None and decision.send_at > now:
        return Intervention.Status.SCHEDULED
    return Intervention.Status.SENT


def _recipient(
    m: Membership, contact: ContactPreference | None, paused_until: Any
) -> throttle.Recipient:
    return throttle.Recipient(
        timezone=m.person.timezone or "UTC",
        email_opt_out=bool(contact and contact.email_opt_out),
        quiet_start=contact.quiet_hours_start if contact else None,
        quiet_end=contact.quiet_hours_end if contact else None,
        daily_digest=bool(contact and contact.daily_digest),
        paused_until=paused_until,
    )


def _paused(ids: list[int], now: datetime) -> dict[int, Any]:
    """The last day of each learner's pause or staff snooze in force now."""
    today = timezone.localdate(now)
    until: dict[int, Any] = {}
    for m, day in Pause.objects.filter(
        membership_id__in=ids, starts_on__lte=today, until__gte=today
    ).values_list("membership_id", "until"):
        until[m] = max(day, until.get(m, day))
    for m, moment in Snooze.objects.filter(membership_id__in=ids, until__gt=now).values_list(
        "membership_id", "until"
    ):
        day = timezone.localdate(moment)
        until[m] = max(day, until.get(m, day))
    return until


def _recent_nudges(ids: list[int], now: datetime) -> dict[int, list[datetime]]:
    """Learner-facing sends of the throttle's look-back, as the planner counts them."""
    recent: dict[int, list[datetime]] = defaultdict(list)
    rows = (
        Intervention.objects.filter(
            membership_id__in=ids,
            status__in=[Intervention.Status.SENT, Intervention.Status.SCHEDULED],
            send_at__gte=now - LEARNER_FACING_LOOKBACK,
        )
        .exclude(step__in=staff_steps())
        .values_list("membership_id", "send_at")
    )
    for membership_id, sent_at in rows:
        if sent_at is not None:
            recent[membership_id].append(sent_at)
    return recent


def _latest_progress(ids: list[int]) -> dict[int, Progress]:
    found: dict[int, Progress] = {}
    for p in Progress.objects.filter(membership_id__in=ids).order_by("membership_id", "as_of"):
        found[p.membership_id] = p
    return found


def _count(bulk: BulkMessage) -> None:
    rows = Intervention.objects.filter(
        course=bulk.course, step=STEP, episode=f"bulk:{bulk.pk}"
    ).values_list("status", "detail")
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for status, detail in rows:
        statuses[status] += 1
        if status == Intervention.Status.SUPPRESSED:
            reasons[_reason_words(detail)] += 1
    bulk.queued = statuses[Intervention.Status.SENT]
    bulk.scheduled = statuses[Intervention.Status.SCHEDULED]
    # A chosen learner with no decision recorded was skipped: no longer enrolled at Send.
    left = len(set(bulk.membership_ids)) - len(rows)
    if left > 0:
        reasons[LEFT] += left
    bulk.suppressed = statuses[Intervention.Status.SUPPRESSED] + max(left, 0)
    bulk.suppressed_reasons = dict(reasons.most_common())


def _reason_words(detail: str) -> str:
    """ "email: opted out of email (from Ann)" -> "opted out of email"."""
    text = detail.rsplit(" (from ", 1)[0]
    return text.split(": ", 1)[-1] or "not sent"


def purge_stale_drafts(*, now: datetime) -> int:
    """Delete drafts never sent and previewed more than `DRAFT_KEPT` ago; returns how many."""
    deleted, _ = BulkMessage.objects.filter(
        sent_at__isnull=True, created_at__lt=now - DRAFT_KEPT
    ).delete()
    return deleted


def access_bulk(course: Course, bulk_id: int) -> BulkMessage:
    """A sent bulk message of this course (404 otherwise, and for a draft)."""
    return get_object_or_404(BulkMessage, pk=bulk_id, course=course, sent_at__isnull=False)
