"""Plan today's interventions for a course: who gets which step, on which channel, when.

Reads the day's facts through `day_facts` (a few course-wide queries), decides with the
pure modules (`playbooks`, `throttle`, `experiments`), and writes `Intervention` rows plus
outbox messages or advisor cases in one transaction. A learner gets at most one learner-facing
step per run (the most urgent playbook wins; within a playbook the most advanced due step wins
and the earlier ones are recorded as superseded). `dry_run` writes nothing and returns the plan,
which is also the preview of who would receive what today.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from interventions.delivery import clicks, messages
from interventions.learners.actions import announce_escalations
from interventions.learners.partners import study_partners
from interventions.measurement import experiments
from interventions.models import (
    AdvisorCase,
    Channel,
    ContactPreference,
    CourseSupport,
    Experiment,
    Intervention,
    OutboundMessage,
    PlaybookSetting,
)
from interventions.planning import caseload, personalise, playbooks, throttle
from interventions.planning.day_facts import DayFacts, load_day_facts
from lti_tool.db.bulk import insert_rows
from lti_tool.models import Course, Membership, Role


@dataclass(frozen=True)
class PlannedAction:
    membership_id: int
    learner: str
    playbook: str
    step: str
    episode: str
    channels: tuple[str, ...]
    audience: str
    status: str
    send_at: datetime | None
    subject: str = ""
    detail: str = ""
    arm: str = ""
    # Per channel, which of the learner's preferences decided whether and when it is used.
    decisions: tuple[tuple[str, str], ...] = ()


@dataclass
class PlanSummary:
    actions: list[PlannedAction] = field(default_factory=list)
    deferred_cases: int = 0  # advisor cases over the staff's daily cap, planned again later

    def count(self, status: str) -> int:
        return sum(1 for a in self.actions if a.status == status)


def effective_playbooks(course: Course) -> tuple[playbooks.Playbook, ...]:
    """The defaults under the course's programme preset, with the course's disabled
    playbooks and step overrides applied."""
    settings = {s.playbook: s for s in PlaybookSetting.objects.filter(course=course)}
    program = CourseSupport.objects.filter(course=course).values_list("program", flat=True)
    preset = playbooks.PRESETS.get(program.first() or "cohort", playbooks.PRESETS["cohort"])
    result = []
    for playbook in playbooks.DEFAULT_PLAYBOOKS:
        setting = settings.get(playbook.key)
        if setting is not None and not setting.enabled:
            continue
        overrides = setting.step_overrides if setting else {}
        steps = []
        for step in playbook.steps:
            step = playbooks.apply_preset(step, preset)
            o = overrides.get(step.key, {})
            if o.get("enabled") is False:
                continue
            if "channels" in o:
                step = replace(step, channels=tuple(o["channels"]))
            if "delay" in o:
                step = replace(step, trigger=replace(step.trigger, value=float(o["delay"])))
            if "template" in o:  # an adopted A/B winner's wording
                step = replace(step, template=str(o["template"]))
            if "send_delay_hours" in o:  # an adopted A/B winner's timing
                step = replace(step, send_delay_hours=float(o["send_delay_hours"]))
            steps.append(step)
        result.append(replace(playbook, steps=tuple(steps)))
    return tuple(result)


def plan_course(
    *, course_id: int, now: datetime | None = None, dry_run: bool = False
) -> PlanSummary:
    """Plan (and unless `dry_run`, record and enqueue) today's interventions for a course."""
    now = now or timezone.now()
    course = Course.objects.select_related("deployment").get(pk=course_id)
    books = effective_playbooks(course)
    if PlaybookSetting.objects.filter(course=course, dry_run=True).exists():
        dry_run = True
    facts = load_day_facts(course, now)
    summary = PlanSummary()
    writes = _Writes()
    for membership in facts.learners:
        for action in _plan_learner(course, books, membership, facts, now):
            summary.actions.append(action)
            if not dry_run:
                _record(course, membership, action, facts, now, writes)
    if not dry_run:
        summary.deferred_cases = _assign_cases(writes, facts, now)
        writes.save()
    return summary


def _assign_cases(w: _Writes, f: DayFacts, now: datetime) -> int:
    """Give today's advisor cases owners within the daily cap; returns how many are over it.

    With the case digest on (`CASE_DIGEST`), a case over the cap is recorded as batched for
    its owner's daily digest (no chat alert, no webhook); with it off, it records nothing, so
    the next plan (hourly) proposes it again, ranked anew.
    """
    if not w.pending:
        return 0
    people = {s.person_id for s in f.staff}
    open_cases = dict(
        AdvisorCase.objects.filter(owner_id__in=people)
        .exclude(status=AdvisorCase.Status.RESOLVED)
        .values_list("owner_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    opened_today = dict(
        AdvisorCase.objects.filter(owner_id__in=people, opened_at__gte=midnight)
        .exclude(status=AdvisorCase.Status.BATCHED)
        .values_list("owner_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    result = caseload.assign(
        [p.candidate for p in w.pending],
        open_cases=open_cases,
        opened_today=opened_today,
        daily_cap=settings.FINISHLINE["ADVISOR_DAILY_CAP"],
    )
    digest = settings.FINISHLINE["CASE_DIGEST"]
    for p in w.pending:
        index = p.candidate.index
        if index in result.batched and digest:
            p.case.owner_id, p.case.status = result.batched[index], AdvisorCase.Status.BATCHED
            w.interventions.append(p.intervention)
            w.cases.append((p.intervention, p.case))
            continue
        if index not in result.owners:
            continue
        p.case.owner_id = result.owners[index]
        w.interventions.append(p.intervention)
        w.cases.append((p.intervention, p.case))
        # Chat goes to the case's owner only (each row carries its person id last).
        w.messages.extend(row[:-1] for row in p.chat if row[-1] == p.case.owner_id)
    return len(result.deferred)


INTERVENTION_FIELDS = (
    "membership_id",
    "course_id",
    "playbook",
    "step",
    "episode",
    "tier",
    "channels",
    "status",
    "detail",
    "experiment_id",
    "arm",
    "planned_at",
    "send_at",
    "case_id",
)
MESSAGE_FIELDS = (
    "decided_by",
    "idempotency_key",
    "deployment_id",
    "course_id",
    "membership_id",
    "channel",
    "to_address",
    "subject",
    "body_text",
    "body_html",
    "reason",
    "not_before",
    "language",
    "click_token",
    "click_target",
)


@dataclass
class _PendingCase:
    candidate: caseload.Candidate
    intervention: list[Any]
    case: AdvisorCase
    chat: list[tuple[Any, ...]]  # chat rows, each with the staff person id appended


@dataclass
class _Writes:
    """Rows of one planning run, written in a few bulk inserts in one transaction.

    Plain rows rather than model instances: a first run over 100,000 learners writes
    hundreds of thousands, and building and preparing instances would cost more than
    the planning itself.
    """

    interventions: list[list[Any]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    cases: list[tuple[list[Any], AdvisorCase]] = field(default_factory=list)
    pending: list[_PendingCase] = field(default_factory=list)  # cases before owners are chosen

    @transaction.atomic
    def save(self) -> None:
        AdvisorCase.objects.bulk_create([case for _, case in self.cases], batch_size=2000)
        case_column = INTERVENTION_FIELDS.index("case_id")
        for row, case in self.cases:
            row[case_column] = case.pk
        # Conflicts skipped: a run racing another (two workers) keeps the first row of each.
        insert_rows(Intervention, INTERVENTION_FIELDS, self.interventions)
        insert_rows(OutboundMessage, MESSAGE_FIELDS, self.messages)
        alerts = [case for _, case in self.cases if case.status != AdvisorCase.Status.BATCHED]
        if alerts:
            announce_escalations(alerts)


def _plan_learner(
    course: Course, books: Iterable[playbooks.Playbook], m: Membership, f: DayFacts, now: datetime
) -> list[PlannedAction]:
    progress = f.progress.get(m.pk)
    situation = playbooks.Situation(
        membership_id=m.pk,
        now=now,
        enrolled_at=m.enrolled_at,
        started=m.pk in f.started,
        last_active_at=f.last_active.get(m.pk),
        percent_complete=progress.percent_complete if progress else 0.0,
        fired_signals=f.fired.get(m.pk, {}),
        item_failures=f.failures.get(m.pk, {}),
        last_failure_at=f.last_failure.get(m.pk, {}),
        last_attempt_at=f.last_attempt.get(m.pk, {}),
        completed_at=(
            datetime.combine(progress.as_of, datetime.min.time(), tzinfo=now.tzinfo)
            if progress and progress.criteria_met
            else None
        ),
        paused=m.pk in f.paused,
        returned_on=f.returned_on.get(m.pk),
        delay_multiplier=f.multiplier.get(m.pk, 1.0),
        cadence_days=f.cadence.get(m.pk, 1.0),
        unanswered=f.unanswered.get(m.pk, {}),
        responded=f.responded.get(m.pk, {}),
    )
    due = [
        d
        for d in playbooks.due_steps(books, situation)
        if (m.pk, d.step.key, d.episode) not in f.done
    ]
    actions: list[PlannedAction] = []
    learner_facing_planned = False
    by_playbook: dict[str, list[playbooks.DueStep]] = defaultdict(list)
    for d in due:
        by_playbook[d.playbook.key].append(d)
    for steps in by_playbook.values():  # insertion order = playbook priority
        *earlier, latest = _never_final_first(m, steps, f)
        for d in earlier:
            actions.append(_action(m, d, "superseded", None, "a later step of the playbook is due"))
        if latest.step.audience != playbooks.LEARNER:
            why = f"escalated to staff: {latest.cause}" if latest.cause else "escalated to staff"
            actions.append(_action(m, latest, "sent", now, why))
            continue
        if learner_facing_planned:
            continue  # one learner-facing step a run; the others wait for a later day
        learner_facing_planned = True
        actions.append(_decide_learner_step(m, latest, f, now))
    return actions


def _never_final_first(
    m: Membership, steps: list[playbooks.DueStep], f: DayFacts
) -> list[playbooks.DueStep]:
    """The first contact of an episode is never its playbook's last (final) step: a learner
    first seen after 21 days away gets the latest gentler step, and the final one waits."""
    latest = steps[-1]
    book = latest.playbook.steps
    if (
        len(steps) < 2
        or latest.step.key != book[-1].key
        or latest.step.audience != playbooks.LEARNER
    ):
        return steps
    if any((m.pk, s.key, latest.episode) in f.done for s in book):
        return steps  # contacted before in this episode
    gentler = [i for i, d in enumerate(steps[:-1]) if d.step.audience == playbooks.LEARNER]
    if not gentler:
        return steps
    chosen = gentler[-1]
    return [d for i, d in enumerate(steps[:-1]) if i != chosen] + [steps[chosen]]


def _decide_learner_step(
    m: Membership, d: playbooks.DueStep, f: DayFacts, now: datetime
) -> PlannedAction:
    contact = f.contacts.get(m.person_id)
    recipient = throttle.Recipient(
        timezone=m.person.timezone or "UTC",
        email_opt_out=bool(contact and contact.email_opt_out),
        sms_opt_in=bool(contact and contact.sms_opt_in),
        sms_opt_out=bool(contact and contact.sms_opt_out),
        has_phone=bool(contact and contact.phone),
        quiet_start=contact.quiet_hours_start if contact else None,
        quiet_end=contact.quiet_hours_end if contact else None,
        phone_verified=bool(contact and contact.phone_verified_at),
        daily_digest=bool(contact and contact.daily_digest),
        has_chat=bool(contact and contact.chat_webhook_url),
        prefers_chat=bool(contact and contact.prefers_chat),
    )
    channels, delay = d.step.channels, d.step.send_delay_hours
    arm, spec = _arm_of(m, d, f)
    if arm == experiments.HOLDOUT:
        return _action(m, d, "holdout", now, "hold-out group of the A/B test", arm=arm)
    if spec.get("none"):
        return _action(m, d, "holdout", now, f"A/B arm '{arm}': no message", arm=arm)
    channels = throttle.preferred_channels(tuple(spec.get("channels") or channels), recipient)
    delay = float(spec.get("delay_hours") or delay)
    earliest = now + timedelta(hours=delay)  # the throttle may push it on
    open_channels, send_at, why = [], None, ""
    decisions: list[tuple[str, str]] = []
    for channel in channels:
        decision = throttle.decide(
            now=earliest,
            channel=channel,
            recipient=recipient,
            recent_nudges=f.recent_nudges.get(m.pk, []),
        )
        decisions.append((channel, throttle.deciding_preference(recipient, channel, decision)))
        if decision.allowed:
            open_channels.append(channel)
            send_at = (
                decision.send_at if send_at is None else min(send_at, decision.send_at or earliest)
            )
        why = why or decision.reason
    if not open_channels:
        why = "; ".join(text for _, text in decisions)
        return replace(_action(m, d, "suppressed", None, why, arm=arm), decisions=tuple(decisions))
    status = "sent" if send_at is not None and send_at <= now else "scheduled"
    if delay:
        why = f"{delay:g} h after the step was due; {why}"
    if d.cause:
        why = f"{d.cause}; {why}"
    action = _action(m, d, status, send_at, why, arm=arm)
    return replace(action, channels=tuple(open_channels), decisions=tuple(decisions))


def _arm_of(m: Membership, d: playbooks.DueStep, f: DayFacts) -> tuple[str, dict[str, Any]]:
    """The learner's arm of the step's running A/B test and its spec; ("", {}) when none."""
    experiment = f.experiments.get(d.step.key)
    if experiment is None or not _takes_part(experiment, f.consents.get((experiment.pk, m.pk))):
        return "", {}
    arms = [experiments.Arm(a["key"], float(a.get("weight", 1))) for a in experiment.arms]
    arm = experiments.assign(f"exp-{experiment.pk}", str(m.pk), arms, experiment.holdout_share)
    return arm, next((a for a in experiment.arms if a["key"] == arm), {})


def _takes_part(experiment: Experiment, consented: bool | None) -> bool:
    """Whether a learner is in the test under its consent mode."""
    if experiment.consent_mode == Experiment.Consent.OPT_IN or (
        experiment.requires_consent and experiment.consent_mode == Experiment.Consent.NONE
    ):
        return bool(consented)
    if experiment.consent_mode == Experiment.Consent.OPT_OUT:
        return consented is not False
    return True


def _action(
    m: Membership,
    d: playbooks.DueStep,
    status: str,
    send_at: datetime | None,
    detail: str,
    arm: str = "",
) -> PlannedAction:
    return PlannedAction(
        membership_id=m.pk,
        learner=m.person.name or m.person.sub,
        playbook=d.playbook.key,
        step=d.step.key,
        episode=d.episode,
        channels=d.step.channels,
        audience=d.step.audience,
        status=status,
        send_at=send_at,
        detail=detail,
        arm=arm,
    )


def _context(
    course: Course, m: Membership, action: PlannedAction, f: DayFacts, now: datetime
) -> dict[str, object]:
    progress = f.progress.get(m.pk)
    failing = f.failures.get(m.pk, {})
    item_id = next(iter(failing), None)
    last = f.last_active.get(m.pk)
    return {
        "first_name": m.person.given_name
        or (m.person.name.split(" ")[0] if m.person.name else "there"),
        "learner": m.person.name or m.person.sub,
        "course": course.title or course.context_id,
        "percent": round(progress.percent_complete) if progress else 0,
        "gap": round(progress.gap) if progress else 0,
        "due": progress.due_on.isoformat() if progress and progress.due_on else "",
        "item": f.titles.get(item_id, "the assessment") if item_id else "the assessment",
        "days_absent": (now - last).days if last else (now - m.enrolled_at).days,
        "reasons": "; ".join(f.reasons.get(m.pk, [])) or "none recorded",
        **_where_stopped(f.next_steps.get(m.person_id)),
        **_help(f, item_id, m, progress.percent_complete if progress else 0.0),
    }


def _help(f: DayFacts, item_id: int | None, m: Membership, percent: float) -> dict[str, object]:
    """The instructor's resources and practice item for the failed assessment, the 1-on-1
    booking link, and up to three opted-in peers at about the same point."""
    resources, practice = f.helps.get(item_id or 0, ("", ""))
    partners = study_partners(m.pk, percent, f.partners)
    return {
        "resources": resources.strip(),
        "practice": practice,
        "booking_link": f.booking_url,
        "partners": ", ".join(partners),
    }


def _where_stopped(step: personalise.NextStep | None) -> dict[str, object]:
    if step is None:
        return {}
    return {
        "next_item": step.title,
        "link": step.url,
        "minutes_left": step.minutes_left,
        "item_minutes": step.item_minutes,
    }


def _record(
    course: Course, m: Membership, action: PlannedAction, f: DayFacts, now: datetime, w: _Writes
) -> None:
    experiment = f.experiments.get(action.step) if action.arm else None
    intervention = [
        m.pk,
        course.pk,
        action.playbook,
        action.step,
        action.episode,
        _tier(action.step),
        list(action.channels),
        action.status,
        action.detail[:300],
        experiment.pk if experiment is not None else None,
        action.arm,
        now,
        action.send_at,
        None,  # case_id, once the case is created
    ]
    if action.audience != playbooks.LEARNER and action.status in {"sent", "scheduled"}:
        _pending_case(course, m, action, f, now, w, intervention, experiment)
        return
    w.interventions.append(intervention)
    if action.status not in {"sent", "scheduled"}:
        return
    found = playbooks.find_step(playbooks.DEFAULT_PLAYBOOKS, action.step)
    template = found[1].template if found else action.step
    if experiment is not None:
        spec: dict[str, Any] = next((a for a in experiment.arms if a["key"] == action.arm), {})
        template = spec.get("template", template)
    wording, language = _wording(template, m, f)
    context = _context(course, m, action, f, now)
    text = messages.render(template, context, wording)
    key = f"iv:{m.pk}:{action.step}:{action.episode}"  # the same step and episode: one message
    contact = f.contacts.get(m.person_id)
    for channel in action.channels:
        to = _address(m, contact, channel)
        if to:
            link = str(context.get("link") or "")
            row = _message(course, m, action, text, channel, to, f"{key}:{channel}", language, link)
            w.messages.append(row)


def _address(m: Membership, contact: ContactPreference | None, channel: str) -> str:
    """Where a learner's message on `channel` goes (empty: nowhere)."""
    if channel == Channel.EMAIL:
        return m.person.email
    if contact is None:
        return ""
    return contact.chat_webhook_url if channel == Channel.CHAT else contact.phone


def _wording(template: str, m: Membership, f: DayFacts) -> tuple[messages.MessageText | None, str]:
    """The course's wording of a template in the learner's language and that language: their
    own choice, else the launch locale, else the course default; without a translation in any
    of them, the course's (or the default) wording in the course's language."""
    contact = f.contacts.get(m.person_id)
    wanted = (contact.language if contact else "", m.person.locale, f.language)
    translations = f.translations.get(template, {})
    chosen = messages.pick_language(wanted, translations)
    if chosen:
        return translations[chosen], chosen
    return f.templates.get(template), f.language or messages.DEFAULT_LANGUAGE


def _pending_case(
    course: Course,
    m: Membership,
    action: PlannedAction,
    f: DayFacts,
    now: datetime,
    w: _Writes,
    intervention: list[Any],
    experiment: Any,
) -> None:
    """A staff step: an advisor case, its owner chosen with the day's others (`caseload`)."""
    found = playbooks.find_step(playbooks.DEFAULT_PLAYBOOKS, action.step)
    template = found[1].template if found else action.step
    if experiment is not None:
        spec: dict[str, Any] = next((a for a in experiment.arms if a["key"] == action.arm), {})
        template = spec.get("template", template)
    text = messages.render(template, _context(course, m, action, f, now), f.templates.get(template))
    language = f.language or messages.DEFAULT_LANGUAGE
    key = f"iv:{m.pk}:{action.step}:{action.episode}"
    staff = _staff_for(action.audience, f.staff)
    chat: list[tuple[Any, ...]] = []
    if Channel.CHAT in action.channels:
        for member in staff:
            contact = f.contacts.get(member.person_id)
            if contact is None or not contact.chat_webhook_url or contact.daily_digest:
                continue
            row = _message(
                course,
                m,
                action,
                text,
                Channel.CHAT,
                contact.chat_webhook_url,
                f"{key}:chat:{member.person_id}",
                language,
            )
            chat.append((*row, member.person_id))
    progress = f.progress.get(m.pk)
    w.pending.append(
        _PendingCase(
            candidate=caseload.Candidate(
                index=len(w.pending),
                tier=_tier(action.step),
                percent_complete=progress.percent_complete if progress else 0.0,
                staff=tuple(s.person_id for s in staff),
            ),
            intervention=intervention,
            case=AdvisorCase(
                membership=m,
                tier=_tier(action.step),
                percent_complete=progress.percent_complete if progress else 0.0,
                reason=text.subject[:300],
                context={"step": action.step, "body": text.body},
                due_at=now + timedelta(days=2),
                opened_at=now,
            ),
            chat=chat,
        )
    )


def _message(
    course: Course,
    m: Membership,
    action: PlannedAction,
    text: messages.MessageText,
    channel: str,
    to: str,
    key: str,
    language: str,
    link: str = "",
) -> tuple[Any, ...]:
    """An outbox row in MESSAGE_FIELDS order; the course `link` in its body becomes a tracked
    link of its own (one token per message)."""
    decided = (
        dict(action.decisions).get(channel, "") or "staff chat webhook set in their preferences"
    )
    body, token, target = clicks.track(text.body, link)
    return (
        decided[:300],
        key,
        course.deployment_id,
        course.pk,
        m.pk,
        channel,
        to,
        text.subject,
        body,
        messages.as_html(body) if channel == Channel.EMAIL else "",
        f"playbook:{action.step}",
        action.send_at or timezone.now(),
        language,
        token or None,  # NULL, not "": the column is unique
        target,
    )


def _staff_for(audience: str, staff: list[Membership]) -> list[Membership]:
    order: list[str] = [
        str(r)
        for r in {
            playbooks.ADVISOR: [Role.ADVISOR, Role.INSTRUCTOR, Role.TEACHING_ASSISTANT],
            playbooks.INSTRUCTOR: [Role.INSTRUCTOR, Role.TEACHING_ASSISTANT],
        }.get(audience, [])
    ]
    return sorted((s for s in staff if s.role in order), key=lambda s: (order.index(s.role), s.pk))


def _tier(step_key: str) -> int:
    found = playbooks.find_step(playbooks.DEFAULT_PLAYBOOKS, step_key)
    return found[1].tier if found else 1
