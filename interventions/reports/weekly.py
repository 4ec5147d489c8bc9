"""The weekly cohort risk report: per course, one email to each of its instructors and advisors.

Owns what the report says (learners per risk tier now and a week ago, interventions sent and
how many learners came back, completions, and a projection against the deployment's earlier
finished cohorts) and who receives it. `ContactPreference` has no notion of a manager, so the
recipients are the course's active instructors and advisors with an email who have not opted
out. Nothing is sent here: each email is an outbox row keyed by person, course and ISO week,
so a second run in the same week adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Sum

from completion.models import Progress, RiskScore
from completion.reports import selectors as report_selectors
from interventions.delivery import messages
from interventions.delivery.outbox import enqueue_message
from interventions.measurement.outcomes import RecoveryRow, recovery_rates
from interventions.models import Channel, Intervention, OutboundMessage
from lti_tool.models import Course, Deployment, Membership, Role

TIERS = ("red", "yellow", "green")
RECIPIENT_ROLES = (Role.INSTRUCTOR, Role.ADVISOR)
MAX_STEP_LINES = 10


@dataclass(frozen=True)
class DaySnapshot:
    """A course's scored learners on one day: per tier, and how many had completed."""

    day: date | None
    tiers: dict[str, int]
    completed: int


@dataclass(frozen=True)
class WeeklySummary:
    course: str
    week: str  # ISO week, e.g. "2026-W11"
    learners: int
    now: DaySnapshot
    week_ago: DaySnapshot
    sent_this_week: int
    recovery: list[RecoveryRow]
    expected_completions: float | None  # the sum of the latest completion probabilities
    past: report_selectors.PastCohorts


def iso_week(now: datetime) -> str:
    year, week, _ = now.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def render_text(s: WeeklySummary) -> str:
    """The email body. Pure."""
    lines = [f"Weekly risk report for {s.course}, week {s.week}.", ""]
    lines.append(f"Learners per risk tier ({_day(s.now.day)}; a week ago {_day(s.week_ago.day)}):")
    for tier in TIERS:
        now, before = s.now.tiers.get(tier, 0), s.week_ago.tiers.get(tier, 0)
        change = f", {now - before:+d}" if s.week_ago.day else ""
        lines.append(f"- {tier.capitalize()}: {now} (a week ago {before}{change})")
    lines += ["", f"Completions: {s.now.completed} of {s.learners} learners"]
    if s.week_ago.day:
        lines[-1] += f" ({s.now.completed - s.week_ago.completed:+d} this week)"
    lines += ["", *_intervention_lines(s), "", *_projection_lines(s)]
    return "\n".join(lines) + "\n"


def _day(day: date | None) -> str:
    return f"{day:%d %b %Y}" if day else "not scored"


def _intervention_lines(s: WeeklySummary) -> list[str]:
    sent = sum(r.sent for r in s.recovery)
    r48, m48 = sum(r.recovered_48h for r in s.recovery), sum(r.measured_48h for r in s.recovery)
    r7, m7 = sum(r.recovered_7d for r in s.recovery), sum(r.measured_7d for r in s.recovery)
    lines = [
        f"Interventions sent this week: {s.sent_this_week} ({sent} in all).",
        f"Learners back within 48 hours: {r48} of {m48} measured ({_percent(r48, m48)}); "
        f"within 7 days: {r7} of {m7} ({_percent(r7, m7)}).",
    ]
    for r in sorted(s.recovery, key=lambda r: -r.sent)[:MAX_STEP_LINES]:
        lines.append(
            f"- {r.step} by {r.channel}, tier {r.tier}: {r.sent} sent; back in 48 h "
            f"{_percent(r.recovered_48h, r.measured_48h)}, in 7 days "
            f"{_percent(r.recovered_7d, r.measured_7d)}"
        )
    return lines


def _projection_lines(s: WeeklySummary) -> list[str]:
    lines = ["Projection:"]
    if s.expected_completions is not None:
        lines.append(
            f"- The latest risk scores expect about {s.expected_completions:.0f} of "
            f"{s.learners} learners to complete ({_percent(s.expected_completions, s.learners)})."
        )
    share = s.past.share
    if share is None:
        lines.append("- No earlier finished cohort of this deployment to compare with.")
    else:
        lines.append(
            f"- In {s.past.courses} earlier finished cohort(s) of this deployment, "
            f"{s.past.completed} of {s.past.learners} learners completed "
            f"({_percent(s.past.completed, s.past.learners)}); at that rate about "
            f"{round(share * s.learners)} of this cohort's {s.learners} would."
        )
    return lines


# --- reads and the send ------------------------------------------------------------------------


def snapshot(course: Course, *, on_or_before: date) -> DaySnapshot:
    day = (
        RiskScore.objects.filter(course=course, as_of__lte=on_or_before)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    if day is None:
        return DaySnapshot(None, {}, 0)
    tiers = dict(
        RiskScore.objects.filter(course=course, as_of=day)
        .values("tier")
        .annotate(n=Count("id"))
        .values_list("tier", "n")
    )
    completed = Progress.objects.filter(course=course, as_of=day, status="completed").count()
    return DaySnapshot(day, tiers, completed)


def summarise(course: Course, *, now: datetime) -> WeeklySummary:
    today = now.astimezone(UTC).date()
    current = snapshot(course, on_or_before=today)
    expected = None
    if current.day is not None:
        total = RiskScore.objects.filter(course=course, as_of=current.day).aggregate(
            p=Sum("probability")
        )["p"]
        expected = float(total or 0.0)
    return WeeklySummary(
        course=course.title or course.context_id,
        week=iso_week(now),
        learners=report_selectors.learners_in([course.pk]).count(),
        now=current,
        week_ago=snapshot(course, on_or_before=today - timedelta(days=7)),
        sent_this_week=Intervention.objects.filter(
            course=course,
            status=Intervention.Status.SENT,
            send_at__gt=now - timedelta(days=7),
            send_at__lte=now,
        ).count(),
        recovery=recovery_rates(course_id=course.pk),
        expected_completions=expected,
        past=report_selectors.past_cohorts(course, now=now),
    )


def recipients(course: Course) -> list[Membership]:
    return list(
        Membership.objects.filter(
            course=course, role__in=RECIPIENT_ROLES, status=Membership.Status.ACTIVE
        )
        .exclude(person__email="")
        .exclude(person__contact__email_opt_out=True)
        .select_related("person")
        .order_by("pk")
    )


def send_weekly_reports(*, now: datetime) -> int:
    """Queue this week's report to every recipient of every current course with learners (in
    active deployments); returns how many emails were newly queued (0 on a re-run that week)."""
    queued = 0
    courses = Course.objects.filter(
        retired_at__isnull=True,
        deployment__status=Deployment.Status.ACTIVE,
        memberships__role=Role.LEARNER,
    )
    for course in courses.distinct().select_related("deployment").order_by("pk"):
        queued += _send_course(course, now=now)
    return queued


@transaction.atomic
def _send_course(course: Course, *, now: datetime) -> int:
    week = iso_week(now)
    keyed = {f"weekly-report:{m.person_id}:{course.pk}:{week}": m for m in recipients(course)}
    done = set(
        OutboundMessage.objects.filter(idempotency_key__in=list(keyed)).values_list(
            "idempotency_key", flat=True
        )
    )
    todo = {k: m for k, m in keyed.items() if k not in done}
    if not todo:
        return 0
    summary = summarise(course, now=now)
    body = render_text(summary)
    for key, membership in todo.items():
        enqueue_message(
            idempotency_key=key,
            deployment=course.deployment,
            channel=Channel.EMAIL,
            to_address=membership.person.email,
            subject=f"{summary.course}: weekly risk report, {week}",
            body_text=body,
            body_html=messages.as_html(body),
            course=course,
            membership=membership,
            reason="weekly_report",
            decided_by="email allowed (not opted out); weekly report to course staff",
        )
    return len(todo)
