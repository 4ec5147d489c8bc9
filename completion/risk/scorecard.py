"""One course's learners on one day: criteria, pace, signals, cohort and risk together. Pure.

`scoring` loads facts and settings from the database and writes what this returns; the
backtest (`evaluate_risk`) and the model trainer call it directly with no writes. It owns the
order of the steps (the cohort's statistics need every learner's progress first), not the
rules of any single step.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol, runtime_checkable

from completion.progress import criteria as crit
from completion.progress import pace
from completion.risk.facts import LearnerFacts
from completion.risk.features import CourseFrame, LearnerRecord, features_of
from completion.risk.model import tier_of_drop
from completion.risk.rules import RiskResult, RulesConfig, reasons_of, score_rules, tier_of
from completion.risk.signals import (
    CohortStats,
    CourseContext,
    LearnerContext,
    SignalResult,
    StatInput,
    cohort_stats,
    compute_signals,
    engagement_components,
    item_summary,
    plan_of,
    stat_input,
    stats_of,
)

MIN_COMPLETERS_FOR_PACE = 5
# A trained model is asked for blocks of this many learners, counted from the first learner
# it is given. Numeric libraries may round a row's result differently in a batch of another
# shape, so a cohort scored in chunks of a multiple of this asks exactly what scoring it at
# once asks, and gets the same probabilities to the last bit.
PREDICT_ROWS = 1000


@dataclass(frozen=True)
class CourseSetup:
    course_id: int
    criteria: crit.Criteria
    timeline: pace.Timeline
    rules: RulesConfig
    context: CourseContext
    due_on: date | None = None
    due_days_after_enrolment: int | None = None


@dataclass(frozen=True)
class LearnerExtras:
    pauses: tuple[pace.Pause, ...] = ()
    multiplier: float = 1.0
    extension_days: int = 0  # an accommodation's deadline extension
    override: str | None = None
    completed_courses: frozenset[int] = frozenset()
    record: LearnerRecord | None = None


@dataclass(frozen=True)
class LearnerScore:
    membership_id: int
    evaluation: crit.Evaluation
    context: LearnerContext
    signals: tuple[SignalResult, ...]
    risk: RiskResult
    time_seconds: float
    features: tuple[float, ...] | None = None  # `features.FEATURES`, when asked for

    @property
    def expected_percent(self) -> float:
        return round(100.0 * self.context.expected, 2)

    @property
    def gap(self) -> float:
        """Percentage points behind the expected progress (negative when ahead)."""
        return round(self.expected_percent - self.evaluation.percent_complete, 2)


class SignalPredictor(Protocol):
    """A model trained on the signals: completion probabilities for learners, and how to rank
    the rules' reasons."""

    name: str
    order: Mapping[str, float]

    def predict(
        self, rows: Sequence[tuple[tuple[SignalResult, ...], LearnerContext]]
    ) -> list[float]: ...


@runtime_checkable
class FactPredictor(Protocol):
    """A model trained on the event stream: reads each learner's features and gives its own
    probability of completing and reasons."""

    name: str

    def explain(
        self, x: Sequence[Sequence[float]], *, limit: int = 3
    ) -> list[tuple[float, tuple[str, ...]]]: ...


Predictor = SignalPredictor | FactPredictor


@dataclass(frozen=True)
class CohortResult:
    scores: tuple[LearnerScore, ...]
    stats: CohortStats
    reference_days: float | None = None
    extra: Mapping[str, object] = field(default_factory=dict)


def achievement_of(
    facts: LearnerFacts, setup: CourseSetup, extras: LearnerExtras
) -> crit.Achievement:
    done, consumed, submitted = [], [], []
    best: dict[int, float] = {}
    for k, i in facts.items.items():  # one loop, not four: this runs for every learner daily
        if i.done_at is not None:
            done.append(k)
        if i.consumed:
            consumed.append(k)
        if i.submitted:
            submitted.append(k)
        if i.best_score is not None:
            best[k] = i.best_score
    if best and (setup.criteria.pass_marks or setup.criteria.min_item_scores):
        done.extend(crit.done_by_score(setup.criteria, best))
    return crit.Achievement(
        done_items=frozenset(done),
        consumed_items=frozenset(consumed),
        submitted_items=frozenset(submitted),
        best_scores=best,
        time_seconds=facts.time_seconds,
        started=bool(facts.items),
        completed_courses=extras.completed_courses,
    )


def reference_days(
    learners: Sequence[tuple[LearnerFacts, LearnerExtras]], setup: CourseSetup
) -> float | None:
    """Self-paced courses: the median working days earlier completers took, if 5+ finished."""
    return median_took([completion_days(f, setup) for f, _ in learners])


def completion_days(facts: LearnerFacts, setup: CourseSetup) -> int | None:
    """Working days from enrolment to the last tracked item done; None if any is not done."""
    tracked = setup.criteria.tracked_items
    if not tracked:
        return None
    done = [facts.items[k].done_at for k in tracked if k in facts.items]
    if len(done) != len(tracked) or any(d is None for d in done):
        return None
    finished = datetime.fromtimestamp(max(d for d in done if d is not None), UTC).date()
    return pace.working_days(
        facts.enrolled_on, finished, setup.timeline.skip_weekends, setup.timeline.blackout
    )


def median_took(took: Iterable[int | None]) -> float | None:
    known = [t for t in took if t is not None]
    if len(known) < MIN_COMPLETERS_FOR_PACE:
        return None
    return float(statistics.median(known))


def evaluate_learner(
    facts: LearnerFacts,
    extras: LearnerExtras,
    setup: CourseSetup,
    as_of: date,
    ref_days: float | None,
) -> tuple[crit.Evaluation, LearnerContext]:
    achievement = achievement_of(facts, setup, extras)
    due = pace.due_date(
        due_on=setup.due_on,
        due_days_after_enrolment=setup.due_days_after_enrolment,
        enrolled_on=facts.enrolled_on,
        pauses=extras.pauses,
        multiplier=extras.multiplier,
        extension_days=extras.extension_days,
    )
    evaluation = crit.evaluate(
        setup.criteria,
        achievement,
        as_of=as_of,
        due_on=due,
        override=extras.override,
        titles=setup.context.titles,
    )
    expected = pace.expected_share(
        setup.timeline,
        enrolled_on=facts.enrolled_on,
        as_of=as_of,
        pauses=extras.pauses,
        multiplier=extras.multiplier,
        reference_days=ref_days,
    )
    paused = (
        pace.paused_calendar_days(extras.pauses, facts.enrolled_on, as_of)
        if extras.pauses
        else frozenset()
    )
    completed = evaluation.met or evaluation.status in (crit.COMPLETED, crit.EXEMPT)
    progress = evaluation.percent_complete / 100.0
    items = item_summary(facts, setup.context)
    context = LearnerContext(
        as_of=as_of,
        expected=expected,
        progress=progress,
        score=evaluation.score,
        paused_days=paused,
        completed=completed,
        days_enrolled=(as_of - facts.enrolled_on).days,
        engagement=engagement_components(facts, as_of, progress, setup.context, items.assessed),
        items=items,
    )
    return evaluation, context


def score_cohort(
    learners: Sequence[tuple[LearnerFacts, LearnerExtras]],
    setup: CourseSetup,
    as_of: date,
    *,
    stats: CohortStats | None = None,
    ref_days: float | None = None,
    predictor: Predictor | None = None,
    with_features: bool = False,
) -> CohortResult:
    """Score every learner given. Without `stats`, the given learners are the whole cohort.
    With `with_features` (or a predictor that reads them), each score keeps its features."""
    if stats is None:
        ref_days = reference_days(learners, setup)
    evaluated = [(f, *evaluate_learner(f, x, setup, as_of, ref_days)) for f, x in learners]
    if stats is None:
        stats = cohort_stats([(f, lc) for f, _, lc in evaluated], setup.context)
    plan, cc = plan_of(setup.rules.thresholds), setup.context
    rows = [(f, ev, lc, compute_signals(f, lc, cc, stats, plan=plan)) for f, ev, lc in evaluated]
    rules = [
        score_rules(sig, progress=lc.progress, completed=lc.completed, config=setup.rules)
        for _, _, lc, sig in rows
    ]
    uses_facts = isinstance(predictor, FactPredictor)
    features: list[tuple[float, ...] | None] = [None] * len(rows)
    if with_features or uses_facts:
        records = {f.membership_id: x.record for f, x in learners}
        frame = frame_of(setup, as_of, stats)
        features = [
            tuple(
                features_of(
                    f,
                    frame,
                    records.get(f.membership_id) or NO_RECORD,
                    volume=lc.engagement[1] if lc.engagement else 0.0,
                    expected=lc.expected,
                    progress=lc.progress,
                )
            )
            for f, _, lc, _ in rows
        ]
    if isinstance(predictor, FactPredictor):
        rules = _explained(rows, rules, features, predictor, setup.rules)
    elif predictor is not None:
        rules = _predicted(rows, rules, predictor, setup.rules)
    scores = tuple(
        LearnerScore(f.membership_id, ev, lc, sig, risk, f.time_seconds, x)
        for (f, ev, lc, sig), risk, x in zip(rows, rules, features, strict=True)
    )
    return CohortResult(scores, stats, ref_days)


NO_RECORD = LearnerRecord()


def frame_of(setup: CourseSetup, as_of: date, stats: CohortStats) -> CourseFrame:
    timeline = setup.timeline
    has_volume = len(stats.engagement_mean) > 1
    return CourseFrame(
        as_of=as_of,
        starts_on=timeline.starts_on if timeline.mode == pace.ABSOLUTE else None,
        assessments=setup.context.assessment_items,
        due=setup.context.item_due,
        cohort_volume_mean=stats.engagement_mean[1] if has_volume else 0.0,
        cohort_volume_std=stats.engagement_std[1] if has_volume else 0.0,
        cohort_total_mean=stats.actions.mean if stats.actions else 0.0,
        cohort_total_std=stats.actions.std if stats.actions else 0.0,
    )


def _explained(
    rows: Sequence[tuple[LearnerFacts, crit.Evaluation, LearnerContext, tuple[SignalResult, ...]]],
    rules: Sequence[RiskResult],
    features: Sequence[tuple[float, ...] | None],
    predictor: FactPredictor,
    config: RulesConfig,
) -> list[RiskResult]:
    """An event model's probability, its tier and its own reasons (completers keep the rules')."""
    explained = predictor.explain([x for x in features if x is not None], limit=config.max_reasons)
    out = []
    for (_, _, lc, _), rule, (p, reasons) in zip(rows, rules, explained, strict=True):
        if lc.completed:
            out.append(rule)
        else:
            out.append(RiskResult(tier_of_drop(p), p, reasons, model=predictor.name))
    return out


def score_in_chunks(
    chunks: Callable[[], Iterable[Sequence[tuple[LearnerFacts, LearnerExtras]]]],
    setup: CourseSetup,
    as_of: date,
    *,
    predictor: Predictor | None = None,
    with_features: bool = False,
) -> CohortResult:
    """`score_cohort` over a whole cohort whose facts are built a chunk at a time: each call
    of `chunks` yields the cohort afresh, in the same order. Only one chunk's facts are held
    at once, at the price of building them twice. The same result as `score_cohort`."""
    took: list[int | None] = []
    inputs: list[StatInput] = []
    for chunk in chunks():
        for f, x in chunk:
            took.append(completion_days(f, setup))
            # The statistics read progress and scores, never the expected pace, the only part
            # the completers' median (still unknown here) changes.
            _, lc = evaluate_learner(f, x, setup, as_of, None)
            inputs.append(stat_input(f, lc, setup.context))
        del chunk  # before the next chunk's facts are built
    ref_days = median_took(took)
    stats = stats_of(inputs)
    del inputs, took
    scores: list[LearnerScore] = []
    ragged = False
    for chunk in chunks():
        if ragged and predictor is not None:
            raise ValueError(f"only the last chunk may hold other than {PREDICT_ROWS}*n learners")
        ragged = len(chunk) % PREDICT_ROWS != 0
        part = score_cohort(
            chunk,
            setup,
            as_of,
            stats=stats,
            ref_days=ref_days,
            predictor=predictor,
            with_features=with_features,
        )
        scores.extend(part.scores)
        del chunk
    return CohortResult(tuple(scores), stats, ref_days)


def _predicted(
    rows: Sequence[tuple[LearnerFacts, crit.Evaluation, LearnerContext, tuple[SignalResult, ...]]],
    rules: Sequence[RiskResult],
    predictor: SignalPredictor,
    config: RulesConfig,
) -> list[RiskResult]:
    inputs = [(sig, lc) for _, _, lc, sig in rows]
    probabilities = [
        p
        for at in range(0, len(inputs), PREDICT_ROWS)
        for p in predictor.predict(inputs[at : at + PREDICT_ROWS])
    ]
    out = []
    for (_, _, lc, sig), rule, p in zip(rows, rules, probabilities, strict=True):
        if lc.completed:
            out.append(rule)
            continue
        fired = [r for r in sig if r.fired]
        p = round(float(p), 4)
        out.append(
            RiskResult(
                tier_of(p, config),
                p,
                reasons_of(fired, predictor.order, config.max_reasons),
                model=predictor.name,
            )
        )
    return out
