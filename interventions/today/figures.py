"""What the instructor's first screen shows: who needs attention today and why, the trend, pace,
what the interventions did, and the short list of whom to contact.

Reads only (a selector): a handful of aggregate queries over the day's RiskScore and Progress
rows and the week's interventions, so the page costs the same for 200 or 10,000 learners,
except the 28-day series, which are grouped in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Avg, Count, Max, Q

from completion import wording
from completion.models import Activity, Progress, RiskScore
from completion.risk.selectors import fired_counts
from interventions.models import AdvisorCase, Intervention, OutboundMessage
from lti_tool.models import Course

DAYS = 28
CONTACTS = 10
SPARK_DAYS = 14
PAST_SECONDS = 3600
TIERS = ("red", "yellow", "green")


@dataclass(frozen=True)
class Contact:
    membership_id: int
    name: str
    probability: float
    percent_complete: float
    reasons: list[str]
    last_activity: datetime | None
    history: list[float]  # completion probability, oldest first


@dataclass(frozen=True)
class TodayPage:
    day: date | None
    learners: int = 0
    tiers: dict[str, int] = field(default_factory=dict)
    tiers_week_ago: dict[str, int] = field(default_factory=dict)
    why: list[tuple[str, str, int]] = field(default_factory=list)  # (code, words, learners)
    completed: int = 0
    mean_percent: float = 0.0
    mean_expected: float = 0.0
    behind: int = 0  # learners behind the schedule
    sent_week: int = 0  # messages the outbox sent in the last 7 days
    queued: int = 0  # messages waiting in the outbox
    measured_week: int = 0
    back_week: int = 0
    open_cases: int = 0
    risk_mix: list[tuple[date, dict[str, int]]] = field(default_factory=list)
    pace: list[tuple[date, float, float, float]] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)

    @property
    def attention(self) -> int:
        return self.tiers.get("red", 0)

    @property
    def attention_change(self) -> int | None:
        if not self.tiers_week_ago:
            return None
        return self.attention - self.tiers_week_ago.get("red", 0)

    @property
    def completed_share(self) -> float:
        return 100 * self.completed / self.learners if self.learners else 0.0

    @property
    def back_share(self) -> float | None:
        return 100 * self.back_week / self.measured_week if self.measured_week else None


def _tiers(course: Course, day: date) -> dict[str, int]:
    counts = dict(
        RiskScore.objects.filter(course=course, as_of=day)
        .values_list("tier")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {t: counts.get(t, 0) for t in TIERS}


def today_page(course: Course, *, now: datetime) -> TodayPage:
    day = (
        RiskScore.objects.filter(course=course)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    if day is None:
        return TodayPage(day=None)
    tiers = _tiers(course, day)
    week_ago = _tiers(course, day - timedelta(days=7))
    red = RiskScore.objects.filter(course=course, as_of=day, tier="red")
    why = [(code, wording.signal(code), n) for code, n in fired_counts(red)[:3]]
    progress = Progress.objects.filter(course=course, as_of=day).aggregate(
        completed=Count("pk", filter=Q(status="completed")),
        mean=Avg("percent_complete"),
        expected=Avg("expected_percent"),
        behind=Count("pk", filter=Q(gap__gt=0)),
        n=Count("pk"),
    )
    since = now - timedelta(days=7)
    week = Intervention.objects.filter(
        course_id=course.pk, status=Intervention.Status.SENT, send_at__gte=since - timedelta(days=7)
    ).aggregate(
        measured=Count("pk", filter=Q(reengaged_48h__isnull=False)),
        back=Count("pk", filter=Q(reengaged_48h=True)),
    )
    # Messages as the outbox knows them: sent means the mail server (or SMS API) took it.
    Out = OutboundMessage.Status
    outbox = OutboundMessage.objects.filter(course_id=course.pk).aggregate(
        sent=Count("pk", filter=Q(status=Out.SENT, sent_at__gte=since)),
        queued=Count("pk", filter=Q(status__in=[Out.PENDING, Out.SENDING])),
    )
    return TodayPage(
        day=day,
        learners=sum(tiers.values()),
        tiers=tiers,
        tiers_week_ago=week_ago if sum(week_ago.values()) else {},
        why=why,
        completed=progress["completed"] or 0,
        mean_percent=progress["mean"] or 0.0,
        mean_expected=progress["expected"] or 0.0,
        behind=progress["behind"] or 0,
        sent_week=outbox["sent"] or 0,
        queued=outbox["queued"] or 0,
        measured_week=week["measured"] or 0,
        back_week=week["back"] or 0,
        open_cases=AdvisorCase.objects.filter(membership__course_id=course.pk)
        .exclude(status__in=[AdvisorCase.Status.RESOLVED, AdvisorCase.Status.BATCHED])
        .count(),
        **_series(course, day, tiers, progress),
        contacts=_contacts(course, day),
    )


def _series(
    course: Course, day: date, tiers: dict[str, int], progress: dict[str, Any]
) -> dict[str, Any]:
    """The 28-day series: the days before `day` from the cache (they are settled: an hour's
    staleness only after a backfill re-scores them), `day` itself from today's figures."""
    key = f"finishline:today:{course.pk}:{day.isoformat()}"
    past = cache.get(key)
    if past is None:
        past = (_risk_mix(course, day), _pace(course, day))
        cache.set(key, past, PAST_SECONDS)
    n = progress["n"] or 0
    today = (
        day,
        progress["mean"] or 0.0,
        progress["expected"] or 0.0,
        100 * (progress["completed"] or 0) / n if n else 0.0,
    )
    return {"risk_mix": [*past[0], (day, tiers)], "pace": [*past[1], today]}


def _risk_mix(course: Course, day: date) -> list[tuple[date, dict[str, int]]]:
    """Learners per tier on each of the DAYS - 1 days before `day`."""
    per_day: dict[date, dict[str, int]] = {}
    for as_of, tier, n in (
        RiskScore.objects.filter(course=course, as_of__gt=day - timedelta(days=DAYS), as_of__lt=day)
        .values_list("as_of", "tier")
        .annotate(n=Count("pk"))
        .order_by("as_of")
    ):
        per_day.setdefault(as_of, dict.fromkeys(TIERS, 0))[tier] = n
    return sorted(per_day.items())


def _pace(course: Course, day: date) -> list[tuple[date, float, float, float]]:
    """Per day before `day`: mean progress, mean expected by the schedule, share completed."""
    rows = (
        Progress.objects.filter(course=course, as_of__gt=day - timedelta(days=DAYS), as_of__lt=day)
        .values("as_of")
        .annotate(
            mean=Avg("percent_complete"),
            expected=Avg("expected_percent"),
            n=Count("pk"),
            done=Count("pk", filter=Q(status="completed")),
        )
        .order_by("as_of")
    )
    return [
        (r["as_of"], r["mean"] or 0.0, r["expected"] or 0.0, 100 * r["done"] / max(r["n"], 1))
        for r in rows
    ]


def _contacts(course: Course, day: date) -> list[Contact]:
    """The red learners most likely not to finish, with why and their recent trend."""
    top = list(
        RiskScore.objects.filter(course=course, as_of=day, tier="red")
        .order_by("probability", "membership_id")
        .values(
            "membership_id",
            "probability",
            "reasons",
            "membership__person_id",
            "membership__person__name",
            "membership__person__email",
        )[:CONTACTS]
    )
    ids = [r["membership_id"] for r in top]
    history: dict[int, list[float]] = {}
    for membership_id, p in (
        RiskScore.objects.filter(
            course=course, membership_id__in=ids, as_of__gt=day - timedelta(days=SPARK_DAYS)
        )
        .order_by("as_of")
        .values_list("membership_id", "probability")
    ):
        history.setdefault(membership_id, []).append(p)
    percent = dict(
        Progress.objects.filter(course=course, as_of=day, membership_id__in=ids).values_list(
            "membership_id", "percent_complete"
        )
    )
    people = [r["membership__person_id"] for r in top]
    last = dict(
        Activity.objects.filter(course=course, person_id__in=people)
        .values_list("person_id")
        .annotate(last=Max("occurred_at"))
        .order_by()
    )
    return [
        Contact(
            membership_id=r["membership_id"],
            name=r["membership__person__name"]
            or r["membership__person__email"]
            or f"Learner {r['membership_id']}",
            probability=r["probability"],
            percent_complete=percent.get(r["membership_id"], 0.0),
            reasons=list(r["reasons"] or [])[:2],
            last_activity=last.get(r["membership__person_id"]),
            history=history.get(r["membership_id"], []),
        )
        for r in top
    ]
