"""Backtesting and training data: the risk engine replayed on finished cohorts, no writes.

Every snapshot is computed as `scoring.compute_course` would have on that day, from events up
to it. Outcomes are the recorded ones (`completion.models.Outcome`: an imported history, the
synthetic generator, the LMS or an instructor); learners with none are derived:
completed = criteria met by the end of the data; dropped = not completed and idle for
`IDLE_DAYS` (or past the due date); anyone else is still in progress and left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Max, QuerySet

from completion.models import COMPLETED_RESULTS, Activity
from completion.models import Outcome as RecordedOutcome
from completion.risk import metrics
from completion.risk.model import DEFAULT_ALGORITHM, TrainedArtefact, features_of, train
from completion.risk.scorecard import LearnerScore, Predictor
from completion.risk.scoring import compute_course, today
from lti_tool.models import Course, Membership

IDLE_DAYS = 21
TRAINING_DAYS = (3, 7, 14, 21, 28, 42)


@dataclass(frozen=True)
class Outcome:
    membership_id: int
    enrolled_on: date
    completed: bool
    last_active_on: date | None


def last_event_day(course: Course) -> date | None:
    last = Activity.objects.filter(course=course).aggregate(m=Max("occurred_at"))["m"]
    return last.date() if last else None


def known_outcomes(course: Course, *, until: date | None = None) -> dict[int, Outcome]:
    """Finished learners: their recorded outcomes, and derived ones for learners with none
    (in a live course the roster or an instructor may have recorded only some)."""
    recorded = _recorded_outcomes(course)
    unrecorded = _learners(course).exclude(
        pk__in=RecordedOutcome.objects.filter(membership__course=course).values("membership_id")
    )
    if recorded and not unrecorded.exists():
        return recorded
    return {**_derived_outcomes(course, until), **recorded}


def _derived_outcomes(course: Course, until: date | None) -> dict[int, Outcome]:
    end = until or last_event_day(course) or today()
    result = compute_course(course, as_of=end, use_model=False).result
    last = dict(
        Activity.objects.filter(course=course, occurred_at__date__lte=end)
        .values("person_id")
        .annotate(m=Max("occurred_at"))
        .values_list("person_id", "m")
    )
    people = _people(course)
    found = {}
    for s in result.scores:
        person_id, enrolled_on = people[s.membership_id]
        last_at = last.get(person_id)
        last_on = last_at.date() if last_at else None
        idle = (end - (last_on or enrolled_on)).days >= IDLE_DAYS
        overdue = s.evaluation.status == "overdue"
        if s.evaluation.met or idle or overdue:
            found[s.membership_id] = Outcome(
                s.membership_id, enrolled_on, s.evaluation.met, last_on
            )
    return found


def _learners(course: Course) -> QuerySet[Membership]:
    from completion.risk.selectors import learners_of

    return learners_of(course)


def _people(course: Course) -> dict[int, tuple[int, date]]:
    from completion.risk.selectors import learners_of

    return {
        m: (p, e.date())
        for m, p, e in learners_of(course).values_list("pk", "person_id", "enrolled_at")
    }


def _recorded_outcomes(course: Course) -> dict[int, Outcome]:
    rows = list(
        RecordedOutcome.objects.filter(membership__course=course).values_list(
            "membership_id", "membership__person_id", "membership__enrolled_at", "result"
        )
    )
    if not rows:
        return {}
    last = dict(
        Activity.objects.filter(course=course)
        .values("person_id")
        .annotate(m=Max("occurred_at"))
        .values_list("person_id", "m")
    )
    return {
        m: Outcome(m, e.date(), result in COMPLETED_RESULTS, last[p].date() if p in last else None)
        for m, p, e, result in rows
    }


class Snapshots:
    """Scores of a course on given days, computed once per day and reused."""

    def __init__(self, course: Course, predictor: Predictor | None, use_model: bool) -> None:
        self.course = course
        self.predictor = predictor
        self.use_model = use_model
        self.cache: dict[date, dict[int, LearnerScore]] = {}

    def on(self, day: date) -> dict[int, LearnerScore]:
        if day not in self.cache:
            result = compute_course(
                self.course, as_of=day, predictor=self.predictor, use_model=self.use_model
            ).result
            self.cache[day] = {s.membership_id: s for s in result.scores}
        return self.cache[day]


def at_days(
    snapshots: Snapshots, outcomes: Iterable[Outcome], offsets: Sequence[int]
) -> dict[int, list[tuple[Outcome, LearnerScore]]]:
    """For each offset, every finished learner's score that many days after enrolment,
    leaving out those who had already completed by then."""
    out: dict[int, list[tuple[Outcome, LearnerScore]]] = defaultdict(list)
    for offset in offsets:
        for outcome in outcomes:
            score = snapshots.on(outcome.enrolled_on + timedelta(days=offset)).get(
                outcome.membership_id
            )
            if score is not None and not score.context.completed:
                out[offset].append((outcome, score))
    return out


def first_red(
    snapshots: Snapshots, dropouts: Sequence[Outcome], *, after: int = 14
) -> dict[int, date | None]:
    """The first day each drop-out was red, scanning from enrolment to `after` days past
    their last activity."""
    found: dict[int, date | None] = {}
    for o in dropouts:
        day = o.enrolled_on
        end = (o.last_active_on or o.enrolled_on) + timedelta(days=after)
        found[o.membership_id] = None
        while day <= end:
            score = snapshots.on(day).get(o.membership_id)
            if score is not None and score.risk.tier == "red":
                found[o.membership_id] = day
                break
            day += timedelta(days=1)
    return found


def evaluate_course(
    course: Course,
    offsets: Sequence[int],
    *,
    predictor: Predictor | None = None,
    use_model: bool = True,
    lead_ahead: int = 14,
) -> dict[str, Any]:
    """AUC, accuracy, red precision/recall at each offset, and lead times of drop-outs."""
    outcomes = list(known_outcomes(course).values())
    snapshots = Snapshots(course, predictor, use_model)
    by_offset = at_days(snapshots, outcomes, offsets)
    report: dict[str, Any] = {
        "course": course.pk,
        "finished_learners": len(outcomes),
        "completed": sum(o.completed for o in outcomes),
        "at_day": {},
    }
    for offset in offsets:
        rows = by_offset.get(offset, [])
        report["at_day"][offset] = metrics.classification_report(
            [not o.completed for o, _ in rows],
            [s.risk.probability for _, s in rows],
            [s.risk.tier == "red" for _, s in rows],
        )
        models = {s.risk.model for _, s in rows}
        report["at_day"][offset]["model"] = ",".join(sorted(models))
    dropouts = [o for o in outcomes if not o.completed]
    leads = metrics.lead_times(
        first_red(snapshots, dropouts), {o.membership_id: o.last_active_on for o in dropouts}
    )
    report["lead_time"] = metrics.lead_summary(leads, ahead=lead_ahead)
    # No model can flag a drop-out `lead_ahead` days before they stop if they stop sooner
    # after enrolling: the share of the others is the ceiling of the lead-time figure.
    report["lead_time"]["reachable"] = (
        round(sum(_active_for(o, lead_ahead) for o in dropouts) / len(dropouts), 4)
        if dropouts
        else None
    )
    report["snapshots_computed"] = len(snapshots.cache)
    return report


def _active_for(outcome: Outcome, days: int) -> bool:
    last = outcome.last_active_on
    return last is not None and (last - outcome.enrolled_on).days >= days


def training_rows(
    courses: Iterable[Course], offsets: Sequence[int] = TRAINING_DAYS
) -> tuple[list[list[float]], list[bool]]:
    """Features at several days of enrolment for every finished learner, and their outcome."""
    x: list[list[float]] = []
    y: list[bool] = []
    for course in courses:
        outcomes = list(known_outcomes(course).values())
        snapshots = Snapshots(course, None, use_model=False)
        for rows in at_days(snapshots, outcomes, offsets).values():
            for outcome, score in rows:
                x.append(features_of(score.signals, score.context))
                y.append(outcome.completed)
    return x, y


def train_on(courses: Sequence[Course], *, algorithm: str = DEFAULT_ALGORITHM) -> TrainedArtefact:
    x, y = training_rows(courses)
    return train(x, y, algorithm=algorithm)
