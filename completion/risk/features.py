"""What the trained model reads: features of one learner's event stream as of a day. Pure.

The features a learning-analytics study builds: activity volume so far and lately, its trend
against the learner's own earlier weeks and against the cohort, days since the last activity,
assessments (share of those due that were submitted, scores, lateness), when they registered
against the course's start, and what the enrolment record says (earlier attempts, study load).
Each feature has plain words for when it counts against the learner (`reason_of`), which is how
the model's own per-learner contributions become the reasons an advisor reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from completion.risk.facts import LearnerFacts

# The plain baseline every figure is read against: a logistic regression on these alone.
BASELINE = (
    "days_since_last_activity",
    "submissions",
    "mean_score",
    "actions_so_far",
    "registration_lateness",
)
FEATURES: tuple[str, ...] = (
    "days_since_start",
    "days_since_last_activity",
    "actions_so_far",
    "actions_so_far_against_cohort",
    "active_days_so_far",
    "actions_last_7_days",
    "trend_against_own_history",
    "volume_against_cohort",
    "assessments_submitted_share",
    "assessments_missed",
    "submissions",
    "mean_score",
    "no_score_yet",
    "late_share",
    "registration_lateness",
    "prior_attempts",
    "study_load",
    "behind_pace",
)


@dataclass(frozen=True)
class CourseFrame:
    """What the features need to know of the course on the day."""

    as_of: date
    starts_on: date | None  # a fixed-date course's start; None: each learner's enrolment
    assessments: frozenset[int]
    due: Mapping[int, date]  # assessment item -> due date
    cohort_volume_mean: float = 0.0  # the cohort's log1p(actions per day), last 14 days
    cohort_volume_std: float = 0.0
    cohort_total_mean: float = 0.0  # the cohort's log1p(actions so far)
    cohort_total_std: float = 0.0


@dataclass(frozen=True)
class LearnerRecord:
    """The enrolment record beyond the events (`EnrolmentDetail`), where known."""

    prior_attempts: int | None = None
    credits: float | None = None


def _day(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, UTC).date()


def features_of(
    facts: LearnerFacts,
    frame: CourseFrame,
    record: LearnerRecord,
    *,
    volume: float,
    expected: float,
    progress: float,
) -> list[float]:
    """One row of `FEATURES` for a learner as of `frame.as_of` (facts hold nothing later).
    `volume` is the learner's log1p(actions per day) over the last 14 days; `expected` and
    `progress` are pace's shares (0..1)."""
    as_of = frame.as_of
    start = frame.starts_on or facts.enrolled_on
    days = facts.days
    since_start = max((as_of - start).days, 0)
    last = facts.last_active_on
    idle_from = last if last is not None else max(start, facts.enrolled_on)
    idle = min(max((as_of - idle_from).days, 0), 120)
    actions = sum(days.actions)
    recent7 = sum(days.actions[days.span(as_of - timedelta(days=6), as_of)])
    recent14 = sum(days.actions[days.span(as_of - timedelta(days=13), as_of)])
    earlier = sum(days.actions[days.span(start - timedelta(days=3650), as_of - timedelta(days=14))])
    earlier_days = max((as_of - timedelta(days=14) - start).days, 0)
    own_rate = earlier / earlier_days if earlier_days >= 7 else None
    trend = math.log1p(recent14 / 14) - math.log1p(own_rate) if own_rate is not None else 0.0
    cohort = (
        (volume - frame.cohort_volume_mean) / frame.cohort_volume_std
        if frame.cohort_volume_std > 1e-9
        else 0.0
    )
    due = [k for k, d in frame.due.items() if d <= as_of]
    submitted = [k for k in due if k in facts.items and facts.items[k].submitted]
    late = [
        k
        for k in submitted
        if _day(facts.items[k].first_at) > frame.due[k]  # first seen after the due day
    ]
    scores = [
        i.best_score
        for k, i in facts.items.items()
        if k in frame.assessments and i.best_score is not None
    ]
    return [
        float(min(since_start, 400)),
        float(idle),
        math.log1p(actions),
        max(min(_z(math.log1p(actions), frame.cohort_total_mean, frame.cohort_total_std), 5), -5),
        math.log1p(len(days)),
        math.log1p(recent7),
        max(min(trend, 5.0), -5.0),
        max(min(cohort, 5.0), -5.0),
        len(submitted) / len(due) if due else 1.0,
        float(len(due) - len(submitted)),
        float(sum(1 for k, i in facts.items.items() if k in frame.assessments and i.submitted)),
        sum(scores) / len(scores) if scores else 0.0,
        0.0 if scores else 1.0,
        len(late) / len(due) if due else 0.0,
        float(max(min((facts.enrolled_on - start).days, 120), -120)),
        float(record.prior_attempts or 0),
        (record.credits if record.credits is not None else 60.0) / 60.0,
        max(expected - progress, 0.0),
    ]


def _z(value: float, mean: float, std: float) -> float:
    return (value - mean) / std if std > 1e-9 else 0.0


def reason_of(name: str, value: float) -> str:
    """The feature in plain words, said when it counts against completing."""
    n = round(value)
    words = {
        "days_since_start": "early days of the course",
        "days_since_last_activity": f"no activity for {n} days",
        "actions_so_far": f"little activity so far ({math.expm1(value):.0f} actions)",
        "active_days_so_far": f"active on few days so far ({math.expm1(value):.0f})",
        "actions_last_7_days": f"little activity in the last 7 days ({math.expm1(value):.0f})",
        "trend_against_own_history": "activity falling against their own earlier weeks",
        "volume_against_cohort": "less active than most of the cohort lately",
        "actions_so_far_against_cohort": "less active so far than most of the cohort",
        "assessments_submitted_share": f"submitted {value:.0%} of the assessments due so far",
        "assessments_missed": f"{n} assessment{'s' if n != 1 else ''} due so far not submitted",
        "submissions": f"{n} assessment{'s' if n != 1 else ''} submitted so far",
        "mean_score": f"low assessment scores (mean {value:.0%})",
        "no_score_yet": "no assessment score yet",
        "late_share": f"{value:.0%} of assessments due so far submitted late",
        "registration_lateness": f"registered {abs(n)} days {'after' if n >= 0 else 'before'} "
        "the start",
        "prior_attempts": f"{n} earlier attempt{'s' if n != 1 else ''} at this course",
        "study_load": f"a heavy study load ({value * 60:.0f} credits)",
        "behind_pace": f"{value:.0%} of the course behind the expected pace",
    }
    return words.get(name, name.replace("_", " "))
