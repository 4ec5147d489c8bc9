"""Training and judging the event-stream model on recorded outcomes, at honest cut-offs.

A cut-off is a number of days from the course's start (a fixed-date course) or from each
learner's enrolment (rolling). At a cut-off a learner is in the sample if their membership was
valid that day (not withdrawn before it), they have a recorded outcome, and they had not
completed yet; the label is whether they did not complete. Scores are what
`scoring.compute_course` gives as of that day, from events up to it. Every figure comes with a
plain logistic-regression baseline (`features.BASELINE`) fitted and scored on the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from completion.models import COMPLETED_RESULTS, CompletionCriteria
from completion.models import Outcome as RecordedOutcome
from completion.risk import metrics
from completion.risk.features import BASELINE, FEATURES
from completion.risk.model import EVENTS, RED_DROP, TrainedArtefact, train_events
from completion.risk.scorecard import LearnerScore, Predictor
from completion.risk.scoring import compute_course
from lti_tool.models import Course

CUTOFFS = (0, 7, 14, 30, 60, 90)


@dataclass(frozen=True)
class Sample:
    course_id: int
    membership_id: int
    cutoff: int
    dropped: bool
    score: LearnerScore
    last_active_on: date | None


def start_of(course: Course) -> date | None:
    """A fixed-date course's start; None for rolling enrolment."""
    row = CompletionCriteria.objects.filter(course=course).first()
    if row is not None and row.timeline == "absolute" and row.starts_on is not None:
        return row.starts_on
    return None


def outcomes_of(course: Course, until: date | None = None) -> dict[int, tuple[bool, date]]:
    """Recorded outcomes (membership -> (completed, enrolled on)), decided by `until`."""
    rows = RecordedOutcome.objects.filter(membership__course=course)
    if until is not None:
        rows = rows.filter(decided_on__lte=until)
    return {
        m: (result in COMPLETED_RESULTS, enrolled.date())
        for m, result, enrolled in rows.values_list(
            "membership_id", "result", "membership__enrolled_at"
        )
    }


def samples(
    course: Course,
    cutoffs: Sequence[int] = CUTOFFS,
    *,
    until: date | None = None,
    predictor: Predictor | None = None,
    use_model: bool = False,
) -> list[Sample]:
    """Every eligible learner's score at each cut-off (see the module's docstring)."""
    outcomes = outcomes_of(course, until)
    start = start_of(course)
    wanted: dict[date, list[tuple[int, int]]] = defaultdict(list)  # day -> (cutoff, member)
    for m, (_, enrolled) in outcomes.items():
        for c in cutoffs:
            day = (start or enrolled) + timedelta(days=c)
            if until is None or day <= until:
                wanted[day].append((c, m))
    out = []
    for day in sorted(wanted):
        result = compute_course(
            course, as_of=day, predictor=predictor, use_model=use_model, with_features=True
        ).result
        scores = {s.membership_id: s for s in result.scores}
        for c, m in wanted[day]:
            s = scores.get(m)  # absent: not yet enrolled, or already withdrawn
            if s is None or s.context.completed:
                continue
            out.append(Sample(course.pk, m, c, not outcomes[m][0], s, _last_active(s, day)))
    return out


def _last_active(score: LearnerScore, day: date) -> date | None:
    idle = score.features[FEATURES.index("days_since_last_activity")] if score.features else None
    return None if idle is None else day - timedelta(days=int(idle))


def matrix(rows: Iterable[Sample], names: Sequence[str] = FEATURES) -> Any:
    at = [FEATURES.index(n) for n in names]
    return np.asarray([[s.score.features[k] for k in at] for s in rows if s.score.features])


def train_on_courses(
    courses: Sequence[Course], *, until: date | None, cutoffs: Sequence[int] = CUTOFFS
) -> TrainedArtefact:
    rows = [s for c in courses for s in samples(c, cutoffs, until=until)]
    days = [s.score.context.as_of for s in rows]
    about = {
        "courses": [c.pk for c in courses],
        "until": str(until) if until else None,
        "span": [str(min(days)), str(max(days))] if days else [],
        "cutoffs": list(cutoffs),
        "algorithm": EVENTS,
    }
    return train_events(
        matrix(rows),
        [s.dropped for s in rows],
        [s.membership_id for s in rows],
        names=FEATURES,
        about=about,
    )


def baseline_probabilities(train: Sequence[Sample], test: Sequence[Sample]) -> list[float] | None:
    """The plain baseline's probability of not completing for `test`, fitted on `train`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = [s.dropped for s in train]
    if len(set(y)) < 2 or not test:
        return None
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(matrix(train, BASELINE), y)
    return [float(p) for p in model.predict_proba(matrix(test, BASELINE))[:, 1]]


def report(
    rows: Sequence[Sample],
    p_drop: Sequence[float],
    red: Sequence[bool],
    baseline: Sequence[float] | None,
) -> dict[str, Any]:
    """The figures for one group of samples (a course, a cut-off, or all)."""
    y = [s.dropped for s in rows]
    out = metrics.full_report(y, p_drop, red)
    out["baseline_auc"] = metrics.auc(y, baseline) if baseline is not None else None
    out["tiers"] = {
        tier: sum(1 for s in rows if s.score.risk.tier == tier)
        for tier in ("red", "yellow", "green")
    }
    return out


def evaluate(
    courses: Sequence[Course],
    *,
    cutoffs: Sequence[int] = CUTOFFS,
    predictor: Predictor | None = None,
    use_model: bool = True,
) -> dict[str, Any]:
    """Per course and overall, per cut-off: the figures of the course's risk (its rules or a
    model), beside the plain baseline fitted by cross-validation across learners."""
    rows = [s for c in courses for s in samples(c, cutoffs, predictor=predictor,
                                                use_model=use_model)]  # fmt: skip
    baseline = cross_validated_baseline(rows)
    p_drop = [1.0 - s.score.risk.probability for s in rows]
    red = [s.score.risk.tier == "red" for s in rows]
    out: dict[str, Any] = {"samples": len(rows), "by_course": {}, "overall": {}}
    groups: Mapping[str, Any] = {
        "overall": lambda s: True,
        **{f"course {c.pk}": (lambda s, pk=c.pk: s.course_id == pk) for c in courses},
    }
    for label, keep in groups.items():
        at = {c: [k for k, s in enumerate(rows) if keep(s) and s.cutoff == c] for c in cutoffs}
        figures = {
            c: report(
                [rows[k] for k in ks],
                [p_drop[k] for k in ks],
                [red[k] for k in ks],
                [baseline[k] for k in ks] if baseline is not None else None,
            )
            for c, ks in at.items()
        }
        everyone = [k for k, s in enumerate(rows) if keep(s)]
        figures["lead"] = metrics.lead_of(  # type: ignore[index]
            [(rows[k].membership_id, rows[k].cutoff, rows[k].dropped, red[k]) for k in everyone],
            {rows[k].membership_id: rows[k].last_active_on for k in everyone},
            {rows[k].membership_id: rows[k].score.context.as_of - timedelta(days=rows[k].cutoff)
             for k in everyone},
        )  # fmt: skip
        if label == "overall":
            out["overall"] = figures
        else:
            out["by_course"][label] = figures
    out["red_cut"] = RED_DROP
    return out


def cross_validated_baseline(rows: Sequence[Sample], folds: int = 5) -> list[float] | None:
    """Out-of-fold baseline probabilities, folds by learner (all their cut-offs together)."""
    if not rows:
        return None
    learners = sorted({(s.course_id, s.membership_id) for s in rows})
    fold_of = {key: n % folds for n, key in enumerate(learners)}
    out = [0.0] * len(rows)
    for f in range(folds):
        test = [k for k, s in enumerate(rows) if fold_of[(s.course_id, s.membership_id)] == f]
        train = [s for s in rows if fold_of[(s.course_id, s.membership_id)] != f]
        p = baseline_probabilities(train, [rows[k] for k in test])
        if p is None:
            return None
        for k, v in zip(test, p, strict=True):
            out[k] = v
    return out
