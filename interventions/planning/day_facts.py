"""What planning a course's day reads: learners, activity, signals, progress and what was sent.

A few course-wide queries (activity aggregates, fired signals, progress, pauses,
accommodations, contact preferences, experiments, the interventions already made) load one
`DayFacts`, which `planner` decides from. Nothing here writes or decides.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import CharField, Count, Exists, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Cast, TruncDate

from completion.models import Activity, Item, Pause, Progress, RiskScore
from completion.progress import criteria as crit
from completion.risk.facts import DONE_EVENT
from completion.risk.selectors import fired_since, multipliers_by_membership, setup_of
from interventions.delivery import messages
from interventions.models import (
    AssessmentHelp,
    ContactPreference,
    CourseSupport,
    Experiment,
    ExperimentConsent,
    Intervention,
    MessageTemplate,
    OutboundMessage,
    Snooze,
)
from interventions.planning import personalise, playbooks
from lti_tool.models import Course, Membership, Role

LEARNER_FACING_LOOKBACK = timedelta(hours=48)


@dataclass
class DayFacts:
    learners: list[Membership]
    last_active: dict[int, datetime]
    started: set[int]
    failures: dict[int, dict[int, int]]
    last_failure: dict[int, dict[int, datetime]]
    last_attempt: dict[int, dict[int, datetime]]
    titles: dict[int, str]
    fired: dict[int, dict[str, datetime]]
    reasons: dict[int, list[str]]
    progress: dict[int, Progress]
    paused: set[int]
    multiplier: dict[int, float]
    contacts: dict[int, ContactPreference]
    done: set[tuple[int, str, str]]
    recent_nudges: dict[int, list[datetime]]
    staff: list[Membership]
    experiments: dict[str, Experiment]
    consents: dict[tuple[int, int], bool]
    templates: dict[str, messages.MessageText]
    returned_on: dict[int, date]
    next_steps: dict[int, personalise.NextStep]  # by person
    cadence: dict[int, float] = field(default_factory=dict)
    helps: dict[int, tuple[str, str]] = field(default_factory=dict)  # item: resources, practice
    booking_url: str = ""
    partners: list[tuple[int, str, float]] = field(default_factory=list)  # opted-in learners
    unanswered: dict[int, dict[str, tuple[datetime, str]]] = field(default_factory=dict)
    responded: dict[int, dict[tuple[str, str], datetime]] = field(default_factory=dict)
    # A course's translations of its wordings: template key -> language -> text.
    translations: dict[str, dict[str, messages.MessageText]] = field(default_factory=dict)
    language: str = ""  # the course's default language of messages (blank: English)


def load_day_facts(course: Course, now: datetime) -> DayFacts:
    learners = list(
        Membership.objects.filter(
            course=course, role=Role.LEARNER, status=Membership.Status.ACTIVE
        ).select_related("person")
    )
    person_to_membership = {m.person_id: m.pk for m in learners}
    activity = Activity.objects.filter(course=course, occurred_at__lte=now)
    last_active: dict[int, datetime] = {}
    started: set[int] = set()
    for row in activity.values("person_id").annotate(last=Max("occurred_at")):
        membership_id = person_to_membership.get(row["person_id"])
        if membership_id is not None:
            last_active[membership_id] = row["last"]
            started.add(membership_id)
    failures: dict[int, dict[int, int]] = defaultdict(dict)
    last_failure: dict[int, dict[int, datetime]] = defaultdict(dict)
    last_attempt: dict[int, dict[int, datetime]] = defaultdict(dict)
    # Only items a learner has failed matter (the difficulty playbook); most never fail.
    failed_here = activity.filter(
        person_id=OuterRef("person_id"), item_id=OuterRef("item_id"), verb="failed"
    )
    graded = activity.filter(
        Exists(failed_here),
        verb__in=["failed", "passed", "attempted", "submitted"],
        item__isnull=False,
    ).order_by("occurred_at")
    for person_id, item_id, verb, at in graded.values_list(
        "person_id", "item_id", "verb", "occurred_at"
    ):
        membership_id = person_to_membership.get(person_id)
        if membership_id is None or item_id is None:
            continue
        last_attempt[membership_id][item_id] = at
        if verb == "failed":
            failures[membership_id][item_id] = failures[membership_id].get(item_id, 0) + 1
            last_failure[membership_id][item_id] = at
        elif verb == "passed":  # passing ends the struggle with that item
            failures[membership_id].pop(item_id, None)
            last_failure[membership_id].pop(item_id, None)
    item_ids = {i for per in failures.values() for i in per}
    titles = dict(Item.objects.filter(pk__in=item_ids).values_list("id", "title"))
    today = now.date()
    latest_scored_day = RiskScore.objects.filter(course=course, as_of__lte=today).aggregate(
        day=Max("as_of")
    )["day"]
    firsts = fired_since(course, latest_scored_day) if latest_scored_day else {}
    fired = {
        membership_id: {
            code: datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
            for code, first in codes.items()
        }
        for membership_id, codes in firsts.items()
    }
    reasons = (
        {
            membership_id: list(why)
            for membership_id, why in RiskScore.objects.filter(
                course=course, as_of=latest_scored_day
            ).values_list("membership_id", "reasons")
        }
        if latest_scored_day
        else {}
    )
    progress = latest_progress(course, today)
    paused = set(
        Pause.objects.filter(
            membership__course=course, starts_on__lte=today, until__gte=today
        ).values_list("membership_id", flat=True)
    ) | set(
        Snooze.objects.filter(membership__course=course, until__gt=now).values_list(
            "membership_id", flat=True
        )
    )
    returned = dict(
        Pause.objects.filter(
            membership__course=course, until__gte=today - timedelta(days=7), until__lt=today
        ).values_list("membership_id", "until")
    )
    multiplier = multipliers_by_membership(course)
    people = [m.person_id for m in learners]
    staff = list(
        Membership.objects.filter(
            course=course,
            role__in=[Role.ADVISOR, Role.INSTRUCTOR, Role.TEACHING_ASSISTANT],
            status=Membership.Status.ACTIVE,
        )
        .select_related("person")
        .order_by("role", "pk")
    )
    contacts = {
        c.person_id: c
        for c in ContactPreference.objects.filter(
            person_id__in=people + [s.person_id for s in staff]
        )
    }
    existing = Intervention.objects.filter(course=course)
    done = set(existing.values_list("membership_id", "step", "episode"))
    recent: dict[int, list[datetime]] = defaultdict(list)
    for membership_id, sent_at in (
        existing.filter(
            status__in=[Intervention.Status.SENT, Intervention.Status.SCHEDULED],
            send_at__gte=now - LEARNER_FACING_LOOKBACK,
        )
        .exclude(step__in=staff_steps())
        .values_list("membership_id", "send_at")
    ):
        if sent_at is not None:
            recent[membership_id].append(sent_at)
    active = {e.step: e for e in running_experiments(course, now.date())}
    consents = {
        (c.experiment_id, c.membership_id): c.consented
        for c in ExperimentConsent.objects.filter(experiment__in=active.values())
    }
    templates: dict[str, messages.MessageText] = {}
    translations: dict[str, dict[str, messages.MessageText]] = defaultdict(dict)
    for t in MessageTemplate.objects.filter(course=course):
        text = messages.MessageText(t.subject, t.body)
        if t.language:
            translations[t.key][t.language] = text
        else:
            templates[t.key] = text
    facts = DayFacts(
        learners,
        last_active,
        started,
        failures,
        last_failure,
        last_attempt,
        titles,
        fired,
        reasons,
        progress,
        paused,
        multiplier,
        contacts,
        done,
        recent,
        staff,
        active,
        consents,
        templates,
        {m: until + timedelta(days=1) for m, until in returned.items()},
        next_steps_of(course),
    )
    facts.cadence = cadence_of(activity, person_to_membership, now)
    facts.helps = {
        item: (resources, practice)
        for item, resources, practice in AssessmentHelp.objects.filter(course=course).values_list(
            "item_id", "resources", "practice_url"
        )
    }
    facts.translations = dict(translations)
    support = CourseSupport.objects.filter(course=course).values_list("booking_url", "language")
    facts.booking_url, facts.language = support.first() or ("", "")
    opted = {p for p, c in contacts.items() if c.study_partner_opt_in}
    facts.partners = [
        (m.pk, m.person.given_name or m.person.name or m.person.sub,
         progress[m.pk].percent_complete if m.pk in progress else 0.0)
        for m in learners
        if m.person_id in opted
    ]  # fmt: skip
    facts.unanswered = unanswered_of(existing, last_active, now)
    facts.responded = responses_of(course)
    return facts


def responses_of(course: Course) -> dict[int, dict[tuple[str, str], datetime]]:
    """The first click or reply on each learner's playbook messages: (step, episode) -> when,
    read from the outbox key `iv:<membership>:<step>:<episode>:<channel>` (earliest channel)."""
    found: dict[int, dict[tuple[str, str], datetime]] = defaultdict(dict)
    for membership_id, key, clicked_at, replied_at in OutboundMessage.objects.filter(
        Q(clicked_at__isnull=False) | Q(replied_at__isnull=False),
        course=course,
        membership__isnull=False,
        reason__startswith="playbook:",
    ).values_list("membership_id", "idempotency_key", "clicked_at", "replied_at"):
        prefix = f"iv:{membership_id}:"
        if not key.startswith(prefix) or key.count(":") < 4:
            continue
        step, rest = key[len(prefix) :].split(":", 1)
        episode = rest.rsplit(":", 1)[0]
        first = min(t for t in (clicked_at, replied_at) if t is not None)
        seen = found[membership_id].get((step, episode))
        if seen is None or first < seen:
            found[membership_id][(step, episode)] = first
    return found


CADENCE_LOOKBACK = timedelta(days=60)


def cadence_of(
    activity: QuerySet[Activity], person_to_membership: dict[int, int], now: datetime
) -> dict[int, float]:
    """Each learner's usual gap between visits (days), from their active days of late."""
    days: dict[int, list[date]] = defaultdict(list)
    for person_id, day in (
        activity.filter(occurred_at__gte=now - CADENCE_LOOKBACK)
        .annotate(day=TruncDate("occurred_at"))
        .values_list("person_id", "day")
        .distinct()
    ):
        membership_id = person_to_membership.get(person_id)
        if membership_id is not None:
            days[membership_id].append(day)
    gaps = {m: playbooks.usual_gap(d) for m, d in days.items()}
    return {m: gap for m, gap in gaps.items() if gap > 1.0}


def unanswered_of(
    existing: QuerySet[Intervention], last_active: dict[int, datetime], now: datetime
) -> dict[int, dict[str, tuple[datetime, str]]]:
    """Sent learner-facing steps that escalate, with no return visit since the send."""
    escalating = [
        s.key
        for p in playbooks.DEFAULT_PLAYBOOKS
        for s in p.steps
        if s.escalates_to and s.audience == playbooks.LEARNER
    ]
    found: dict[int, dict[str, tuple[datetime, str]]] = defaultdict(dict)
    for membership_id, step, sent_at, episode in (
        existing.filter(step__in=escalating, status=Intervention.Status.SENT, send_at__lte=now)
        .order_by("send_at")
        .values_list("membership_id", "step", "send_at", "episode")
    ):
        back = last_active.get(membership_id)
        if sent_at is None:
            continue
        if back is None or back < sent_at:
            found[membership_id][step] = (sent_at, episode)
        else:
            found[membership_id].pop(step, None)
    return found


def latest_progress(course: Course, today: date) -> dict[int, Progress]:
    """Each learner's latest progress row, without loading every day's row of the course."""
    latest = (
        Progress.objects.filter(course=course, as_of__lte=today)
        .values_list("membership_id")
        .annotate(day=Max("as_of"))
        .order_by()
    )
    by_day: dict[date, set[int]] = defaultdict(set)
    for membership_id, day in latest:
        by_day[day].add(membership_id)
    progress: dict[int, Progress] = {}
    for day, members in by_day.items():  # usually one day: the last scoring run
        for p in Progress.objects.filter(course=course, as_of=day):
            if p.membership_id in members:
                progress[p.membership_id] = p
    return progress


def next_steps_of(course: Course) -> dict[int, personalise.NextStep]:
    """Where each learner stopped, for "you are N minutes from finishing …"."""
    rows = (
        Activity.objects.filter(course=course)
        .exclude(item=None)
        .values_list("person_id", "item_id")
        .annotate(
            seconds=Sum("duration_seconds", default=0.0),
            done=Count("pk", filter=DONE_EVENT),
            best=Max("score"),
            # As UTC text, which sorts as the time does: loading hundreds of thousands of
            # datetimes through Django's time-zone-aware loader costs more than the query.
            last=Cast(Max("occurred_at"), CharField()),
        )
        .order_by()
    )
    web = ("https://", "http://")
    items = [
        personalise.CourseItem(pk, title or ext, ext if ext.startswith(web) else "")
        for pk, title, ext in Item.objects.filter(course=course, is_tool_lineitem=False)
        .order_by("position", "pk")
        .values_list("pk", "title", "external_id")
    ]
    criteria = setup_of(course).criteria

    def done_by_score(item: int, best: float | None) -> bool:
        mark = crit.pass_mark(criteria, item)
        return best is not None and mark is not None and best + 1e-9 >= mark

    return personalise.next_steps(
        (personalise.ItemRow(p, i, float(secs or 0), done > 0 or done_by_score(i, best), last)
         for p, i, secs, done, best, last in rows),
        items,
    )  # fmt: skip


def staff_steps() -> list[str]:
    return [
        s.key
        for p in playbooks.DEFAULT_PLAYBOOKS
        for s in p.steps
        if s.audience != playbooks.LEARNER
    ]


def running_experiments(course: Course, today: date) -> list[Experiment]:
    """The course's A/B tests taking learners today: active, not stopped, and within their
    stop rule (before `ends_on`; fewer than `max_per_arm` learners in an arm)."""
    running = Experiment.objects.filter(course=course, active=True, stopped_at__isnull=True)
    running = running.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
    found = []
    for experiment in running:
        if experiment.max_per_arm:
            per_arm = (
                Intervention.objects.filter(experiment=experiment)
                .values("arm")
                .annotate(n=Count("pk"))
                .values_list("n", flat=True)
            )
            if len(per_arm) >= len(experiment.arms) and min(per_arm) >= experiment.max_per_arm:
                continue
        found.append(experiment)
    return found
