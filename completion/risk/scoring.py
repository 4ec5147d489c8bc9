"""Scoring a course on a day: load facts in bulk, run the pure scorer, store the results.

Facts come from two aggregates over the course's events (per learner and day, per learner and
item), never a query per learner; a full pass reads them from the course's facts snapshot and
the events stored since (`facts_snapshot`). Results are stored on (membership, day) under a
per-course advisory lock on PostgreSQL: a day's first write inserts, later ones upsert, so
running twice, or in two workers at once, leaves one copy.
Only events strictly before the end of `as_of` (UTC) are read: a past day is scored as it
would have looked then. Thresholds, criteria and models are read as they are now.
"""

from __future__ import annotations

import gc
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from completion.data import cutoff_of
from completion.dispatch import criteria_met
from completion.events import tally
from completion.models import (
    Activity,
    CompletionCriteria,
    Progress,
    RiskScore,
    ScoringRun,
)
from completion.progress import criteria as crit
from completion.risk import selectors as sel
from completion.risk import snapshot as facts_snapshot
from completion.risk.fact_rows import FactRows
from completion.risk.facts import CONSUME_VERBS, DONE_EVENT, LearnerFacts
from completion.risk.scorecard import (
    CohortResult,
    CourseSetup,
    LearnerExtras,
    LearnerScore,
    Predictor,
    score_cohort,
    score_in_chunks,
)
from completion.risk.scoring_pg import load_rows_pg
from completion.risk.signals import fired_mask, stats_from_json, stats_to_json, to_stored
from lti_tool import webhooks
from lti_tool.db.bulk import fetch_rows, insert_new_rows, upsert_rows
from lti_tool.models import Course, Membership
from lti_tool.ops import metrics

PG_FAST_PATH = True  # the ORM path stays the reference (see tests)
LOCK_NAMESPACE = 7321  # pg_advisory_xact_lock(namespace, course id)
PEOPLE_SLICE = 5000
# Learners whose facts a full pass builds at once; a larger course is scored in chunks of
# this many (`score_in_chunks`), which bounds a worker's memory at the cost of building each
# chunk's facts twice. At 20,000, facts take about 220 MB. A multiple of
# `scorecard.PREDICT_ROWS`, so that a trained model's probabilities do not depend on it.
CHUNK = 20_000


@dataclass(frozen=True)
class ScoringSummary:
    course_id: int
    as_of: date
    learners: int
    red: int
    yellow: int
    green: int
    incremental: bool


@dataclass(frozen=True)
class Computed:
    result: CohortResult
    watermark: int  # events with greater ids are left for the next increment
    snapshot: facts_snapshot.Loaded | None = None  # facts to keep for later days


@dataclass(frozen=True)
class Enrolment:
    membership_id: int
    person_id: int
    enrolled_at: datetime


# --- loading -----------------------------------------------------------------------------------


def enrolments(
    course: Course, as_of: date, membership_ids: Collection[int] | None = None
) -> list[Enrolment]:
    """Learners enrolled by the end of `as_of` and not withdrawn by then."""
    qs = sel.learners_on(course, cutoff_of(as_of))
    if membership_ids is not None:
        qs = qs.filter(pk__in=membership_ids)
    return [
        Enrolment(*row)
        for row in fetch_rows(qs.order_by("pk").values_list("pk", "person_id", "enrolled_at"))
    ]


def _events(
    course_id: int, cutoff: datetime, person_ids: Collection[int] | None
) -> QuerySet[Activity]:
    qs = Activity.objects.filter(course_id=course_id, occurred_at__lt=cutoff)
    if person_ids is not None:
        qs = qs.filter(person_id__in=person_ids)
    return qs


def load_rows(
    course_id: int,
    cutoff: datetime,
    after: tuple[int, datetime] | None = None,
    *,
    person_ids: list[int] | None = None,
) -> FactRows:
    """The fact rows of a course's events before `cutoff` (see `ReadRows` for `after`)."""
    if connection.vendor == "postgresql" and PG_FAST_PATH:
        return load_rows_pg(course_id, cutoff, person_ids=person_ids, after=after)
    return load_rows_orm(course_id, cutoff, person_ids=person_ids, after=after)


def load_facts(
    course: Course, as_of: date, people: Sequence[Enrolment], *, subset: bool = False
) -> list[LearnerFacts]:
    """Every learner's facts from two grouped aggregates over the course's events."""
    person_ids = [p.person_id for p in people] if subset else None
    return load_rows(course.pk, cutoff_of(as_of), person_ids=person_ids).facts(people)


def load_facts_orm(
    course: Course, as_of: date, people: Sequence[Enrolment], *, subset: bool = False
) -> list[LearnerFacts]:
    """The portable path's facts (the reference for the PostgreSQL one)."""
    person_ids = [p.person_id for p in people] if subset else None
    return load_rows_orm(course.pk, cutoff_of(as_of), person_ids=person_ids).facts(people)


def load_rows_orm(
    course_id: int,
    cutoff: datetime,
    *,
    person_ids: list[int] | None = None,
    after: tuple[int, datetime] | None = None,
) -> FactRows:
    """The portable path (SQLite, and the reference for the PostgreSQL one)."""
    events = _events(course_id, cutoff, person_ids)
    if after is not None:
        events = events.filter(Q(id__gt=after[0]) | Q(occurred_at__gte=after[1]))
    days = [
        (
            r["person_id"],
            r["day"].toordinal(),
            r["n"],
            r["secs"] or 0.0,
            r["posts"],
            r["errors"],
            r["actions"],
        )
        for r in events.annotate(day=TruncDate("occurred_at", tzinfo=UTC))
        .values("person_id", "day")
        .annotate(
            n=Count("id"),
            secs=Sum("duration_seconds"),
            posts=Count("id", filter=Q(verb="posted")),
            errors=Count("id", filter=Q(verb="errored")),
            actions=Sum(Coalesce("count", Value(1))),
        )
        .order_by()
    ]
    items = [
        (
            r["person_id"],
            r["item_id"],
            r["first"].timestamp(),
            None if r["done"] is None else r["done"].timestamp(),
            r["consumed"],
            r["submitted"],
            r["attempted"],
            r["passed"],
            r["failed"],
            r["best"],
            r["secs"] or 0.0,
        )
        for r in events.filter(item__isnull=False)
        .values("person_id", "item_id")
        .annotate(
            first=Min("occurred_at"),
            done=Min("occurred_at", filter=DONE_EVENT),
            consumed=Count("id", filter=Q(verb__in=CONSUME_VERBS)),
            submitted=Count("id", filter=Q(verb="submitted")),
            attempted=Count("id", filter=Q(verb="attempted")),
            passed=Count("id", filter=Q(verb="passed")),
            failed=Count("id", filter=Q(verb="failed")),
            best=Max("score"),
            secs=Sum("duration_seconds"),
        )
        .order_by()
    ]
    return FactRows.from_rows(days, items)


NO_EXTRAS = LearnerExtras()


def load_extras(
    course: Course,
    setup: CourseSetup,
    as_of: date,
    people: Sequence[Enrolment],
    *,
    subset: bool = False,
) -> dict[int, LearnerExtras]:
    ids = [p.membership_id for p in people] if subset else None
    pauses = sel.pauses_by_membership(course, ids)
    multipliers = sel.multipliers_by_membership(course, ids)
    extensions = sel.extensions_by_membership(course, ids)
    overrides = sel.overrides_by_membership(course, cutoff_of(as_of), ids)
    completed = completed_courses(setup, as_of, [p.person_id for p in people])
    records = sel.records_by_membership(course, ids)
    extras = {}
    for p in people:
        m, person = p.membership_id, p.person_id
        if m in pauses or m in multipliers or m in overrides or person in completed or m in records:
            extras[m] = LearnerExtras(
                pauses=pauses.get(m, ()),
                multiplier=multipliers.get(m, 1.0),
                extension_days=extensions.get(m, 0),
                override=overrides.get(m),
                completed_courses=completed.get(person, frozenset()),
                record=records.get(m),
            )
        else:
            extras[m] = NO_EXTRAS
    return extras


def completed_courses(
    setup: CourseSetup, as_of: date, person_ids: Iterable[int]
) -> dict[int, frozenset[int]]:
    """Prerequisite courses each person had completed by `as_of` (learning paths)."""
    wanted = setup.criteria.prerequisite_courses
    if not wanted:
        return {}
    found: dict[int, set[int]] = defaultdict(set)
    for person_id, course_id in (
        Progress.objects.filter(
            course_id__in=wanted,
            membership__person_id__in=list(person_ids),
            as_of__lte=as_of,
            criteria_met=True,
        )
        .values_list("membership__person_id", "course_id")
        .distinct()
    ):
        found[person_id].add(course_id)
    return {k: frozenset(v) for k, v in found.items()}


def predictor_for(course: Course, row: CompletionCriteria | None = None) -> Predictor | None:
    """The course's trained model when it chose one and one exists; else None (rules)."""
    row = row if row is not None else sel.criteria_row(course)
    if row.risk_model != row.RiskModel.TRAINED:
        return None
    return sel.predictor_of(course)


# --- the service -------------------------------------------------------------------------------


def compute_course(
    course: Course,
    *,
    as_of: date,
    membership_ids: Collection[int] | None = None,
    predictor: Predictor | None = None,
    use_model: bool = True,
    with_features: bool = False,
) -> Computed:
    """Score without writing. A subset reuses the day's stored cohort statistics if any.
    `with_features` keeps each learner's model features (training, evaluation)."""
    with gc_paused():
        return _compute_course(course, as_of, membership_ids, predictor, use_model, with_features)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Scoring builds hundreds of thousands of small objects that form no cycles; the cyclic
    collector would rescan them over and over (about 40% of building a course's facts)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compute_course(
    course: Course,
    as_of: date,
    membership_ids: Collection[int] | None,
    predictor: Predictor | None,
    use_model: bool,
    with_features: bool = False,
) -> Computed:
    row = sel.criteria_row(course)
    setup = sel.setup_of(course, row)
    run = None
    if membership_ids is not None:
        run = ScoringRun.objects.filter(course=course, as_of=as_of).first()
    subset = run is not None and bool(run.cohort_stats)
    people = enrolments(course, as_of, membership_ids if subset else None)
    snapshot = None
    if subset:
        # Read before the facts: events stored while scoring go to the next increment.
        watermark = Activity.objects.aggregate(m=Max("id"))["m"] or 0
        facts = load_facts(course, as_of, people, subset=True)
    else:
        loaded = facts_snapshot.load(course, as_of, load_rows)
        watermark = loaded.watermark
        snapshot = loaded if loaded.save else None
    extras = load_extras(course, setup, as_of, people, subset=subset)
    if predictor is None and use_model:
        predictor = predictor_for(course, row)
    if subset and run is not None:
        stats = stats_from_json(run.cohort_stats)
        ref = run.cohort_stats.get("reference_days")
        result = score_cohort(
            [(f, extras[f.membership_id]) for f in facts],
            setup,
            as_of,
            stats=stats,
            ref_days=float(ref) if ref is not None else None,
            predictor=predictor,
            with_features=with_features,
        )
    else:
        result = _score_everyone(
            loaded.rows, people, extras, setup, as_of, predictor, with_features
        )
    if membership_ids is not None and not subset:
        wanted = set(membership_ids)
        result = CohortResult(
            tuple(s for s in result.scores if s.membership_id in wanted),
            result.stats,
            result.reference_days,
            {"full": True},
        )
    else:
        result = CohortResult(
            result.scores, result.stats, result.reference_days, {"full": not subset}
        )
    return Computed(result, watermark, snapshot)


def _score_everyone(
    rows: FactRows,
    people: Sequence[Enrolment],
    extras: dict[int, LearnerExtras],
    setup: CourseSetup,
    as_of: date,
    predictor: Predictor | None,
    with_features: bool = False,
) -> CohortResult:
    """The whole cohort's scores; a course of more than `CHUNK` learners a chunk at a time,
    so that a worker never holds every learner's facts at once."""

    def chunks() -> Iterator[list[tuple[LearnerFacts, LearnerExtras]]]:
        for at in range(0, len(people), CHUNK):
            yield [(f, extras[f.membership_id]) for f in rows.facts(people[at : at + CHUNK])]

    if len(people) > CHUNK:
        return score_in_chunks(
            chunks, setup, as_of, predictor=predictor, with_features=with_features
        )
    learners = [(f, extras[f.membership_id]) for f in rows.facts(people)]
    return score_cohort(learners, setup, as_of, predictor=predictor, with_features=with_features)


# As a decorator the pause outlasts the call's own frame: by the time the collector runs
# again, the scores are freed, rather than all traversed once more (about 8% of a course's
# scoring in one process).
@gc_paused()
def score_course(
    course_id: int,
    *,
    as_of: date,
    membership_ids: Collection[int] | None = None,
    now: datetime | None = None,
    predictor: Predictor | None = None,
) -> ScoringSummary:
    """Score a course's learners (all, or some) for `as_of` and store the results. Idempotent.
    `predictor`: a chosen stored model rather than the course's own choice."""
    started = time.perf_counter()
    course = Course.objects.get(pk=course_id)
    computed = compute_course(
        course, as_of=as_of, membership_ids=membership_ids, predictor=predictor
    )
    result = computed.result
    write_scores(
        course,
        as_of,
        result,
        watermark=computed.watermark,
        now=now or timezone.now(),
        snapshot=computed.snapshot,
    )
    tiers = [s.risk.tier for s in result.scores]
    metrics.SCORING_RUNS.labels("full" if result.extra.get("full", True) else "incremental").inc()
    metrics.SCORING_SECONDS.observe(time.perf_counter() - started)
    return ScoringSummary(
        course_id,
        as_of,
        len(tiers),
        tiers.count("red"),
        tiers.count("yellow"),
        tiers.count("green"),
        incremental=not result.extra.get("full", True),
    )


@transaction.atomic
def write_scores(
    course: Course,
    as_of: date,
    result: CohortResult,
    *,
    watermark: int,
    now: datetime,
    snapshot: facts_snapshot.Loaded | None = None,
) -> None:
    """Store Progress and RiskScore for the scored learners (and keep the facts snapshot the
    scoring read, if it asks to be kept). Under the course's lock, it also keeps the course's
    event tally: folded each time (a busy course's ingestion adds a row per statement), and
    put right when the facts were read from every event and did not match it."""
    lock_course(course.pk)
    if snapshot is not None:
        facts_snapshot.store(course, as_of, snapshot, now)
        if snapshot.tally_off:
            tally.reconcile(course.pk)
    tally.fold(course.pk)
    full = bool(result.extra.get("full", True))
    ids = [s.membership_id for s in result.scores]
    # A few learners are found by membership, so only their rows are read (through the
    # unique index), not the whole course's day.
    learners = Q(course=course) if full else Q(membership_id__in=ids)
    # The score tables have no database foreign keys: leave out memberships deleted since
    # scoring read them, rather than store rows that point nowhere.
    members = Membership.objects.filter(Q(course=course) if full else Q(pk__in=ids))
    live = set(members.values_list("pk", flat=True))
    scores = sorted(
        (s for s in result.scores if s.membership_id in live), key=lambda s: s.membership_id
    )
    yesterday = RiskScore.objects.filter(learners, as_of=as_of - timedelta(days=1))
    previous = dict(yesterday.values_list("membership_id", "probability"))
    # The collector is paused by score_course, this function's caller, for the whole write.
    progress = [_progress_row(course.pk, as_of, s, now) for s in scores]
    risks = [_risk_row(course.pk, as_of, s, previous.get(s.membership_id), now) for s in scores]
    day = {"course": course, "as_of": as_of}
    if not (RiskScore.objects.filter(**day).exists() or Progress.objects.filter(**day).exists()):
        # The course's first scoring of the day (the nightly pass): every row is new, and
        # the lock keeps it so until they are stored.
        insert_new_rows(Progress, PROGRESS_COLUMNS, progress, binary=True)
        insert_new_rows(RiskScore, RISK_COLUMNS, risks, binary=True)
    else:
        key = ("membership_id", "as_of")
        upsert_rows(Progress, PROGRESS_COLUMNS, progress, key, binary=True)
        upsert_rows(RiskScore, RISK_COLUMNS, risks, key, binary=True)
    _record_run(course, as_of, result, watermark, now)
    announce_red(course, as_of, [s.membership_id for s in scores if s.risk.tier == "red"])
    # An instructor's override to completed is a completion too (certificate, write-back).
    met = [s.membership_id for s in scores if s.evaluation.met or _overridden_complete(s)]
    if met:
        # After commit, so receivers (certificates, write-back) see the stored progress.
        transaction.on_commit(
            lambda: criteria_met.send(
                sender=Progress, course_id=course.pk, membership_ids=met, as_of=as_of
            )
        )


def _overridden_complete(s: LearnerScore) -> bool:
    return s.evaluation.overridden and s.evaluation.status == crit.COMPLETED


def lock_course(course_id: int) -> None:
    """Hold the course's scoring lock until the transaction ends (PostgreSQL; SQLite
    serialises writers anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, course_id])


def recount_tally(course_ids: Iterable[int] | None = None) -> int:
    """Put the event tally of some courses (default all) right, each in a transaction of its
    own under its scoring lock; returns how many course days were off."""
    ids = Course.objects.values_list("pk", flat=True) if course_ids is None else course_ids
    off = 0
    for course_id in list(ids):
        with transaction.atomic():
            lock_course(course_id)
            off += tally.reconcile(course_id)
    return off


def announce_red(course: Course, as_of: date, red: list[int]) -> None:
    """A `risk.tier_red` webhook event for learners red today who were not red the day before."""
    if not red or not webhooks.has_subscribers(course.deployment_id):
        return
    before = set(
        RiskScore.objects.filter(
            membership_id__in=red, as_of=as_of - timedelta(days=1), tier="red"
        ).values_list("membership_id", flat=True)
    )
    scores = dict(
        RiskScore.objects.filter(membership_id__in=red, as_of=as_of).values_list(
            "membership_id", "reasons"
        )
    )
    subs = dict(Membership.objects.filter(pk__in=red).values_list("pk", "person__sub"))
    for membership_id in red:
        if membership_id in before:
            continue
        webhooks.emit(
            deployment=course.deployment,
            event="risk.tier_red",
            event_id=webhooks.event_id_for("red", membership_id, as_of),
            data={"learner": subs.get(membership_id), "course": course.context_id,
                  "as_of": as_of.isoformat(), "reasons": scores.get(membership_id, [])},
        )  # fmt: skip


PROGRESS_COLUMNS = (
    "membership_id",
    "course_id",
    "as_of",
    "status",
    "status_label",
    "criteria_met",
    "percent_complete",
    "items_done",
    "items_total",
    "time_on_task_seconds",
    "score",
    "expected_percent",
    "gap",
    "due_on",
    "unmet",
    "computed_at",
)
RISK_COLUMNS = (
    "membership_id",
    "course_id",
    "as_of",
    "tier",
    "probability",
    "change",
    "reasons",
    "signals",
    "fired_signals",
    "model_used",
    "computed_at",
)


def _progress_row(course_id: int, as_of: date, s: LearnerScore, now: datetime) -> tuple[Any, ...]:
    ev = s.evaluation
    return (
        s.membership_id,
        course_id,
        as_of,
        ev.status,
        ev.label,
        ev.met,
        round(ev.percent_complete, 2),
        ev.items_done,
        ev.items_total,
        round(s.time_seconds, 1),
        ev.score,
        s.expected_percent,
        s.gap,
        ev.due_on,
        list(ev.unmet),
        now,
    )


def _risk_row(
    course_id: int, as_of: date, s: LearnerScore, previous: float | None, now: datetime
) -> tuple[Any, ...]:
    risk = s.risk
    return (
        s.membership_id,
        course_id,
        as_of,
        risk.tier,
        risk.probability,
        risk.change_from(previous),
        list(risk.reasons),
        to_stored(s.signals),
        fired_mask(s.signals),
        risk.model,
        now,
    )


def _record_run(
    course: Course, as_of: date, result: CohortResult, watermark: int, now: datetime
) -> None:
    full = bool(result.extra.get("full", True))
    run, _ = ScoringRun.objects.select_for_update().get_or_create(course=course, as_of=as_of)
    if full:
        run.cohort_stats = {**stats_to_json(result.stats), "reference_days": result.reference_days}
        run.learners = len(result.scores)
        run.full_at = now
    else:
        run.incremental_at = now
    run.last_activity_id = max(run.last_activity_id, watermark)
    run.save()


def changed_memberships(course: Course, as_of: date) -> list[int] | None:
    """Learners with events newer than the day's last scoring; None when there was none."""
    run = ScoringRun.objects.filter(course=course, as_of=as_of).first()
    if run is None or not run.cohort_stats:
        return None
    # Two queries, not a subquery: the few people come first, so the roster is probed by key
    # rather than scanned (in slices, for SQLite's limit on query parameters).
    people = list(
        Activity.objects.filter(course=course, id__gt=run.last_activity_id)
        .values_list("person_id", flat=True)
        .distinct()
    )
    learners = sel.learners_of(course)
    return [
        pk
        for at in range(0, len(people), PEOPLE_SLICE)
        for pk in learners.filter(person_id__in=people[at : at + PEOPLE_SLICE]).values_list(
            "pk", flat=True
        )
    ]


def today() -> date:
    return timezone.now().astimezone(UTC).date()
