"""Invariants of the risk engine, checked on generated learners and events (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from completion.progress import criteria as crit
from completion.progress import pace
from completion.risk import signals as s
from completion.risk.facts import EventRow, facts_from_events
from completion.risk.rules import RulesConfig
from completion.risk.scorecard import CourseSetup, LearnerExtras, score_cohort
from completion.risk.signals import CourseContext

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ITEMS = (1, 2, 3, 4, 5)
VERBS = (
    "viewed",
    "progressed",
    "completed",
    "attempted",
    "passed",
    "failed",
    "submitted",
    "posted",
    "errored",
    "logged_in",
    "launched",
)
SETUP = CourseSetup(
    course_id=1,
    criteria=crit.Criteria(
        tracked_items=frozenset(ITEMS), content_items=frozenset({1, 2, 3}), min_time_seconds=3600
    ),
    timeline=pace.Timeline(duration_days=15),
    rules=RulesConfig(),
    context=CourseContext(
        titles={4: "Quiz"},
        assessment_items=frozenset({4}),
        content_items=frozenset({1, 2, 3}),
        start_items=frozenset(ITEMS),
        has_forum=True,
        min_time_seconds=3600,
    ),
)
ABSENCE_AND_PACE = (s.MISSED_2, s.MISSED_4, s.BEHIND_20, s.BEHIND_40, s.NOT_STARTED)

events_st = st.lists(
    st.builds(
        EventRow,
        person_id=st.integers(1, 4),
        item_id=st.one_of(st.none(), st.sampled_from(ITEMS)),
        verb=st.sampled_from(VERBS),
        occurred_at=st.integers(0, 40 * 24 * 60).map(lambda m: START + timedelta(minutes=m)),
        duration_seconds=st.one_of(st.none(), st.floats(0, 3600)),
        score=st.one_of(st.none(), st.floats(0, 1)),
        success=st.one_of(st.none(), st.booleans()),
        times=st.one_of(st.none(), st.integers(1, 50)),
    ),
    max_size=60,
)


def cohort_on(events, as_of, extras=None):
    learners = [
        (
            facts_from_events(
                membership_id=p, person_id=p, enrolled_at=START, events=events, as_of=as_of
            ),
            (extras or {}).get(p, LearnerExtras()),
        )
        for p in (1, 2, 3, 4)
    ]
    return score_cohort(learners, SETUP, as_of)


@settings(max_examples=60, deadline=None)
@given(events=events_st, later=events_st, day=st.integers(0, 30))
def test_events_after_the_as_of_date_never_change_that_dates_score(events, later, day):
    as_of = START.date() + timedelta(days=day)
    cutoff = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    after = [e._replace(occurred_at=cutoff + (e.occurred_at - START)) for e in later]
    assert cohort_on(events, as_of) == cohort_on(events + after, as_of)


@settings(max_examples=60, deadline=None)
@given(
    events=events_st, day=st.integers(0, 30), before=st.integers(0, 10), length=st.integers(0, 10)
)
def test_a_paused_learner_raises_no_absence_or_pacing_signal_during_the_pause(
    events, day, before, length
):
    as_of = START.date() + timedelta(days=day)
    pause = pace.Pause(as_of - timedelta(days=before), as_of + timedelta(days=length))
    result = cohort_on(events, as_of, {1: LearnerExtras(pauses=(pause,))})
    paused = next(x for x in result.scores if x.membership_id == 1)
    fired = {r.code for r in paused.signals if r.fired}
    assert not fired & set(ABSENCE_AND_PACE)


@settings(max_examples=40, deadline=None)
@given(events=events_st, day=st.integers(0, 30))
def test_scoring_twice_gives_the_same_result_and_sane_values(events, day):
    as_of = START.date() + timedelta(days=day)
    first = cohort_on(events, as_of)
    assert first == cohort_on(list(reversed(events)), as_of)
    for score in first.scores:
        assert 0.0 <= score.risk.probability <= 1.0
        assert 0.0 <= score.evaluation.percent_complete <= 100.0
        assert 0.0 <= score.context.expected <= 1.0
        expected_tier = (
            "red"
            if score.risk.probability < 0.5
            else "yellow"
            if score.risk.probability < 0.75
            else "green"
        )
        assert score.risk.tier == expected_tier


@settings(max_examples=40, deadline=None)
@given(events=events_st, day=st.integers(0, 30))
def test_scoring_a_subset_with_the_days_stats_matches_the_full_pass(events, day):
    as_of = START.date() + timedelta(days=day)
    full = cohort_on(events, as_of)
    one = [
        (
            facts_from_events(
                membership_id=2, person_id=2, enrolled_at=START, events=events, as_of=as_of
            ),
            LearnerExtras(),
        )
    ]
    subset = score_cohort(one, SETUP, as_of, stats=full.stats, ref_days=full.reference_days)
    assert subset.scores[0] == next(x for x in full.scores if x.membership_id == 2)


@given(
    first=st.dates(date(2025, 1, 1), date(2027, 1, 1)),
    days=st.integers(0, 60),
    step=st.integers(0, 30),
    multiplier=st.floats(1.0, 3.0),
    blackout=st.frozensets(st.dates(date(2025, 1, 1), date(2027, 3, 1)), max_size=5),
)
def test_expected_progress_never_goes_down_and_accommodation_never_raises_it(
    first, days, step, multiplier, blackout
):
    timeline = pace.Timeline(
        duration_days=20, blackout=blackout, anchors=(pace.Anchor(first + timedelta(days=9), 0.5),)
    )
    a = first + timedelta(days=days)
    b = a + timedelta(days=step)
    share_a = pace.expected_share(timeline, enrolled_on=first, as_of=a)
    assert 0.0 <= share_a <= pace.expected_share(timeline, enrolled_on=first, as_of=b) <= 1.0
    assert (
        pace.expected_share(timeline, enrolled_on=first, as_of=a, multiplier=multiplier)
        <= share_a + 1e-12
    )


@pytest.mark.django_db
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=events_st, day=st.integers(0, 30))
def test_sql_facts_match_the_reference_on_generated_events(events, day):
    from completion.models import Activity
    from completion.risk import scoring
    from tests.completion.riskdata import enrol, make_course

    course, items = make_course()
    members = {p: enrol(course, f"p{p}", at=START) for p in (1, 2, 3, 4)}
    item_ids = {k: i.pk for k, i in zip(ITEMS, items, strict=True)}
    Activity.objects.bulk_create(
        [
            Activity(
                course=course,
                person_id=members[e.person_id].person_id,
                item_id=item_ids[e.item_id] if e.item_id else None,
                verb=e.verb,
                occurred_at=e.occurred_at,
                received_at=e.occurred_at,
                duration_seconds=e.duration_seconds,
                score=e.score,
                success=e.success,
                count=e.times,
                source="api",
                source_id=f"{n}",
            )
            for n, e in enumerate(events)
        ]
    )
    as_of = START.date() + timedelta(days=day)
    people = scoring.enrolments(course, as_of)
    loaded = {f.membership_id: f for f in scoring.load_facts(course, as_of, people)}
    rows = [
        EventRow(
            members[e.person_id].person_id,
            item_ids[e.item_id] if e.item_id else None,
            e.verb,
            e.occurred_at,
            e.duration_seconds,
            e.score,
            e.success,
            e.times,
        )
        for e in events
    ]
    for m in members.values():
        reference = facts_from_events(
            membership_id=m.pk,
            person_id=m.person_id,
            enrolled_at=m.enrolled_at,
            events=rows,
            as_of=as_of,
        )
        got = loaded[m.pk]
        assert [d._replace(seconds=0.0) for d in got.days] == [
            d._replace(seconds=0.0) for d in reference.days
        ]
        assert [d.seconds for d in got.days] == pytest.approx([d.seconds for d in reference.days])
        assert got.items.keys() == reference.items.keys()
        for key, item in got.items.items():
            ref = reference.items[key]
            assert item._replace(seconds=0.0, best_score=0.0) == ref._replace(
                seconds=0.0, best_score=0.0
            )
            assert item.seconds == pytest.approx(ref.seconds)
            assert item.best_score == pytest.approx(ref.best_score)
    Activity.objects.filter(course=course).delete()


PEOPLE = tuple(range(1, 9))
finishers_st = st.dictionaries(st.sampled_from(PEOPLE), st.integers(0, 25), max_size=8)


def chunked_cohort(events, finishers, as_of, setup, size):
    """Eight learners enrolled on different days; `finishers` complete every item on a day."""
    done = [
        EventRow(p, item, "completed", START + timedelta(days=day, hours=item))
        for p, day in finishers.items()
        for item in ITEMS
    ]
    people = [
        (p, START + timedelta(days=p % 4))
        for p in PEOPLE  # four enrolment days, so the weeks and paces differ
    ]

    def chunks():
        for at in range(0, len(people), size):
            yield [
                (
                    facts_from_events(
                        membership_id=p,
                        person_id=p,
                        enrolled_at=at_,
                        events=[e._replace(person_id=(e.person_id - 1) * 2 + 1) for e in events]
                        + done,
                        as_of=as_of,
                    ),
                    LearnerExtras(),
                )
                for p, at_ in people[at : at + size]
            ]

    return chunks


@settings(max_examples=40, deadline=None)
@given(
    events=events_st,
    finishers=finishers_st,
    day=st.integers(0, 40),
    block=st.integers(1, 3),
    blocks_per_chunk=st.integers(1, 4),
    self_paced=st.booleans(),
)
def test_scoring_in_chunks_equals_scoring_everyone_at_once(
    events, finishers, day, block, blocks_per_chunk, self_paced
):
    from completion.risk import scorecard

    setup = SETUP
    if self_paced:
        setup = replace(SETUP, timeline=pace.Timeline(mode=pace.SELF_PACED, duration_days=15))
    as_of = START.date() + timedelta(days=day)
    # Chunks of a multiple of the model's block, as `scoring.CHUNK` is of `PREDICT_ROWS`.
    chunks = chunked_cohort(events, finishers, as_of, setup, block * blocks_per_chunk)
    everyone = [learner for chunk in chunks() for learner in chunk]
    assert scorecard.score_in_chunks(chunks, setup, as_of) == score_cohort(everyone, setup, as_of)
    model = ShapeSensitive()
    with mock.patch.object(scorecard, "PREDICT_ROWS", block):
        chunked = scorecard.score_in_chunks(chunks, setup, as_of, predictor=model)
        assert chunked == score_cohort(everyone, setup, as_of, predictor=model)


def test_a_model_is_asked_in_blocks_and_chunks_must_not_split_them():
    from completion.risk import scorecard

    as_of = START.date() + timedelta(days=10)
    model = ShapeSensitive()
    with mock.patch.object(scorecard, "PREDICT_ROWS", 3):
        everyone = [x for chunk in chunked_cohort([], {1: 2}, as_of, SETUP, 8)() for x in chunk]
        score_cohort(everyone, SETUP, as_of, predictor=model)
        assert model.asked == [3, 3, 2]
        ragged = chunked_cohort([], {1: 2}, as_of, SETUP, 4)  # 4 is no multiple of 3
        with pytest.raises(ValueError, match="only the last chunk"):
            scorecard.score_in_chunks(ragged, SETUP, as_of, predictor=model)


class FiredCount:
    """A stand-in trained model: each learner's probability from their own signals only."""

    name = "fired-count"
    order = dict.fromkeys(s.CODES, 1.0)

    def predict(self, rows):
        return [1.0 / (1 + sum(r.fired for r in signals) + lc.progress) for signals, lc in rows]


class ShapeSensitive(FiredCount):
    """A stand-in model whose answer for a learner depends on the size of the batch asked, as
    a numeric library's last bit may: only the same batches give the same probabilities."""

    name = "shape-sensitive"

    def __init__(self):
        self.asked = []

    def predict(self, rows):
        self.asked.append(len(rows))
        return [p + len(rows) * 1e-3 for p in super().predict(rows)]


def test_the_scoring_chunk_is_a_whole_number_of_model_blocks():
    from completion.risk import scorecard, scoring

    assert scoring.CHUNK % scorecard.PREDICT_ROWS == 0
