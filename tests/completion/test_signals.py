"""Each signal at its threshold, with values computed by hand."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from completion.risk import signals as s
from completion.risk.facts import Day, Days, ItemFacts, LearnerFacts
from completion.risk.signals import Bucket, CohortStats, CourseContext, LearnerContext

ENROLLED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday, 09:00
MON = ENROLLED.date()
CC = CourseContext(
    titles={4: "Module 4 quiz"},
    assessment_items=frozenset({4}),
    content_items=frozenset({1, 2}),
    start_items=frozenset({1, 2, 4}),
)


def d(n: int) -> date:
    return MON + timedelta(days=n)


def facts(days=(), items=None, enrolled=ENROLLED):
    return LearnerFacts(1, 1, enrolled, Days.of(days), items or {})


def item(item_id, *, first=ENROLLED, done=None, attempts=0, failures=0, best=None, seconds=0.0):
    done_at = None if done is None else done.timestamp()
    return ItemFacts(
        item_id, first.timestamp(), done_at, True, False, attempts, failures, best, seconds
    )


def active(*offsets, events=1, seconds=0.0):
    return [Day(d(n), events, seconds, 0, 0) for n in offsets]


def ctx(as_of, **kw):
    kw.setdefault("expected", 0.0)
    kw.setdefault("progress", 0.0)
    return LearnerContext(as_of=as_of, **kw)


NO_COHORT = CohortStats()


def run(signal, f, lc, cc=CC, cohort=NO_COHORT, th=None):
    code = signal if isinstance(signal, str) else None
    fn = s.SIGNALS[code] if code else signal
    return fn(f, lc, cc, cohort, th if th is not None else s.DEFAULTS[code or fn.__name__])


def test_not_started_fires_only_after_48_hours_without_a_start():
    nothing = facts()
    assert not run(s.NOT_STARTED, nothing, ctx(d(1))).fired  # 39 h at the end of Tuesday
    fired = run(s.NOT_STARTED, nothing, ctx(d(2)))  # 63 h
    assert (fired.fired, fired.value) == (True, 63.0)
    assert fired.reason == "nothing started 3 days after enrolment"


def test_a_start_at_exactly_48_hours_is_in_time_and_a_minute_later_is_not():
    on_time = facts(items={1: item(1, first=ENROLLED + timedelta(hours=48))})
    late = facts(items={1: item(1, first=ENROLLED + timedelta(hours=48, minutes=1))})
    assert not run(s.NOT_STARTED, on_time, ctx(d(5))).fired
    result = run(s.NOT_STARTED, late, ctx(d(5)))
    assert result.fired
    assert result.value == pytest.approx(48.02, abs=0.01)


def test_not_started_counts_from_a_fixed_date_courses_start_for_who_enrolled_before_it():
    # Enrolled 30 days before the course starts on d(30): not late to start before it began.
    starts = CourseContext(start_items=frozenset({1}), starts_on=d(30))
    early = facts(enrolled=ENROLLED)
    assert not run(s.NOT_STARTED, early, ctx(d(20)), cc=starts).fired
    assert not run(s.NOT_STARTED, early, ctx(d(31)), cc=starts).fired  # 48 h at the end of d(31)
    late = run(s.NOT_STARTED, early, ctx(d(32)), cc=starts)
    assert (late.fired, late.value) == (True, 72.0)
    assert late.reason == "nothing started 3 days after the course started"
    # Started the week before the start: a negative value, never late.
    keen = facts(items={1: item(1, first=datetime(2026, 1, 28, 10, tzinfo=UTC))})
    result = run(s.NOT_STARTED, keen, ctx(d(40)), cc=starts)
    assert not result.fired
    assert result.value is not None
    assert result.value < 0
    # Who enrolled after the start is timed from their enrolment, as in a rolling course.
    later = run(s.NOT_STARTED, facts(), ctx(d(2)), cc=CourseContext(starts_on=d(-10)))
    assert later.fired
    assert later.reason == "nothing started 3 days after enrolment"


def test_missed_visits_against_a_daily_cadence():
    daily = facts(active(0, 1, 2, 3, 4))  # Mon..Fri
    assert run(s.MISSED_2, daily, ctx(d(5))).value == 1.0
    assert not run(s.MISSED_2, daily, ctx(d(5))).fired
    two = run(s.MISSED_2, daily, ctx(d(6)))
    assert (two.fired, two.value) == (True, 2.0)
    assert two.reason == "2 days since last visit; usually visits daily"
    assert not run(s.MISSED_4, daily, ctx(d(7))).fired  # 3 missed
    assert run(s.MISSED_4, daily, ctx(d(8))).fired  # 4 missed


def test_missed_visits_against_a_three_day_cadence():
    every_third = facts(active(0, 3, 6, 9))
    assert not run(s.MISSED_2, every_third, ctx(d(14))).fired  # 5 days: 1 missed
    result = run(s.MISSED_2, every_third, ctx(d(15)))  # 6 days: 2 missed
    assert result.fired
    assert result.reason == "6 days since last visit; usually visits every 3 days"


def test_a_learner_with_too_few_visits_is_held_to_the_cohort_cadence():
    once = facts(active(0))
    cohort = CohortStats(median_cadence=2.0)
    assert not run(s.MISSED_2, once, ctx(d(3)), cohort=cohort).fired  # 3 days / 2 = 1
    assert run(s.MISSED_2, once, ctx(d(4)), cohort=cohort).fired


def test_a_paused_learner_misses_no_visits():
    daily = facts(active(0, 1, 2, 3, 4))
    paused = frozenset(d(n) for n in range(5, 10))
    assert not run(s.MISSED_4, daily, ctx(d(8), paused_days=paused)).fired
    after = run(s.MISSED_2, daily, ctx(d(10), paused_days=paused))
    assert (after.value, after.fired) == (1.0, False)  # 6 days absent, 5 of them paused


@pytest.mark.parametrize(
    ("progress", "fired20", "fired40"),
    [(0.31, False, False), (0.30, True, False), (0.11, True, False), (0.10, True, True)],
)
def test_behind_pace_at_20_and_40_points(progress, fired20, fired40):
    lc = ctx(d(3), expected=0.5, progress=progress)
    assert run(s.BEHIND_20, facts(), lc).fired is fired20
    assert run(s.BEHIND_40, facts(), lc).fired is fired40


def test_behind_pace_reason_and_pause():
    lc = ctx(d(3), expected=0.5, progress=0.22)
    assert run(s.BEHIND_20, facts(), lc).reason == "28% behind pace"
    paused = ctx(d(3), expected=0.5, progress=0.0, paused_days=frozenset({d(3)}))
    assert not run(s.BEHIND_40, facts(), paused).fired


def test_failed_twice_names_the_assessment_until_it_is_passed():
    once = facts(items={4: item(4, failures=1, attempts=1)})
    twice = facts(items={4: item(4, failures=2, attempts=2)})
    passed = facts(items={4: item(4, failures=2, attempts=3, done=ENROLLED)})
    assert not run(s.FAILED_TWICE, once, ctx(d(1))).fired
    result = run(s.FAILED_TWICE, twice, ctx(d(1)))
    assert (result.fired, result.reason) == (True, "failed Module 4 quiz twice")
    assert not run(s.FAILED_TWICE, passed, ctx(d(1))).fired


def test_three_or_more_attempts():
    assert not run(s.MANY_ATTEMPTS, facts(items={4: item(4, attempts=2)}), ctx(d(1))).fired
    result = run(s.MANY_ATTEMPTS, facts(items={4: item(4, attempts=3)}), ctx(d(1)))
    assert (result.fired, result.reason) == (True, "3 attempts at Module 4 quiz")


def test_ties_name_the_highest_item_and_a_zero_threshold_needs_no_items():
    tied = facts(items={k: item(k, failures=2, attempts=3) for k in (4, 9, 6)})
    assert run(s.FAILED_TWICE, tied, ctx(d(1))).reason == "failed item 9 twice"
    assert run(s.MANY_ATTEMPTS, tied, ctx(d(1))).reason == "3 attempts at item 9"
    # An instructor's threshold of 0 fires for a learner with no items rather than failing.
    for code in (s.FAILED_TWICE, s.MANY_ATTEMPTS):
        result = run(code, facts(), ctx(d(1)), th=0.0)
        assert (result.value, result.fired) == (0.0, True)
    assert not run(s.MANY_ATTEMPTS, tied, ctx(d(1)), th=3.5).fired


def test_time_below_the_minimum_pro_rata():
    cc = CourseContext(min_time_seconds=3600)
    lc = ctx(d(3), progress=0.5)  # 1800 s expected for half the course
    short = facts([Day(d(0), 1, 1799.0, 0, 0)])
    enough = facts([Day(d(0), 1, 1800.0, 0, 0)])
    assert run(s.BELOW_MIN_TIME, short, lc, cc).fired
    assert not run(s.BELOW_MIN_TIME, enough, lc, cc).fired
    assert run(s.BELOW_MIN_TIME, short, ctx(d(3)), cc).value is None  # nothing done yet


def test_score_well_below_the_cohort():
    cohort = CohortStats(score=Bucket(0.8, 0.1, 20))
    assert run(s.SCORE_BELOW_COHORT, facts(), ctx(d(3), score=0.65), cohort=cohort).fired
    assert not run(s.SCORE_BELOW_COHORT, facts(), ctx(d(3), score=0.66), cohort=cohort).fired
    small = CohortStats(score=Bucket(0.8, 0.1, 4))
    assert run(s.SCORE_BELOW_COHORT, facts(), ctx(d(3), score=0.1), cohort=small).value is None


def test_time_on_content_under_half_of_expected():
    cc = CourseContext(content_items=frozenset({1}), min_time_seconds=3600)
    lc = ctx(d(3), expected=0.5)  # 1800 s expected
    under = facts(items={1: item(1, seconds=899.0)})
    at_half = facts(items={1: item(1, seconds=900.0)})
    assert run(s.LOW_CONTENT_TIME, under, lc, cc).fired
    assert not run(s.LOW_CONTENT_TIME, at_half, lc, cc).fired


def test_time_on_content_against_peers_when_no_minimum_is_set():
    cc = CourseContext(content_items=frozenset({1}))
    cohort = CohortStats(content_median_by_week={0: 1000.0})
    result = run(
        s.LOW_CONTENT_TIME, facts(items={1: item(1, seconds=400.0)}), ctx(d(3)), cc, cohort
    )
    assert (result.fired, result.value, result.reason) == (
        True,
        0.4,
        "time on content is 40% of expected",
    )


def test_no_forum_post_by_day_7():
    cc = CourseContext(has_forum=True)
    assert not run(s.NO_FORUM, facts(), ctx(d(5)), cc).fired  # day 6
    result = run(s.NO_FORUM, facts(), ctx(d(6)), cc)  # day 7
    assert (result.fired, result.reason) == (True, "no forum post by day 7")
    posted = facts([Day(d(2), 1, 0.0, 1, 0)])
    assert not run(s.NO_FORUM, posted, ctx(d(6)), cc).fired
    assert not run(s.NO_FORUM, facts(), ctx(d(6)), CourseContext()).fired


def test_technical_errors_in_the_last_seven_days():
    old = facts([Day(d(0), 1, 0.0, 0, 1)])
    assert not run(s.ERRORS, old, ctx(d(7))).fired
    result = run(s.ERRORS, old, ctx(d(6)))
    assert (result.fired, result.reason) == (True, "1 technical error in the last 7 days")


def test_declining_activity_over_a_four_day_window():
    before = active(0, 1, 2, 3, events=2)  # 8 events
    halved = facts(before + active(4, 5, 6, 7, events=1))  # 4 events
    less_so = facts(before + active(4, 5, 6, 7, events=1) + [Day(d(8), 0, 0, 0, 0)])
    result = run(s.DECLINING, halved, ctx(d(7)))
    assert (result.fired, result.value) == (True, 0.5)
    assert result.reason == "activity down 50% over the last 4 days"
    five = facts(before + active(4, 5, 6, events=1) + [Day(d(7), 2, 0, 0, 0)])
    assert not run(s.DECLINING, five, ctx(d(7))).fired  # 5/8
    assert run(s.DECLINING, halved, ctx(d(6))).value is None  # not two windows in yet
    assert less_so  # an empty day adds nothing


def test_peer_deviation_z_score():
    cohort = CohortStats(progress_by_week={0: Bucket(0.5, 0.2, 10)})
    assert run(s.PEER_DEVIATION, facts(), ctx(d(3), progress=0.2), cohort=cohort).fired
    assert not run(s.PEER_DEVIATION, facts(), ctx(d(3), progress=0.21), cohort=cohort).fired
    week2 = run(s.PEER_DEVIATION, facts(), ctx(d(8), progress=0.0), cohort=cohort)
    assert week2.value is None  # no peers at the same point


def test_percentile_among_quantiles():
    quantiles = tuple(float(k) for k in range(101))
    assert s.percentile_of(30.0, quantiles) == pytest.approx(30.0)
    assert s.percentile_of(30.5, quantiles) == pytest.approx(30.5)
    assert s.percentile_of(-5.0, quantiles) == 0.0
    assert s.percentile_of(0.0, (0.0,) * 101) == pytest.approx(50.0)


def test_low_engagement_in_week_one_is_its_own_signal():
    busy = [facts(active(0, 1, 2, seconds=600.0)) for _ in range(9)]
    idle = facts()
    lc = ctx(d(2), progress=0.0)
    everyone = [(f, ctx(d(2), progress=0.5)) for f in busy] + [(idle, lc)]
    cohort = s.cohort_stats(everyone, CC)
    week1 = run(s.LOW_ENGAGEMENT_WEEK1, idle, lc, cohort=cohort)
    assert week1.fired
    assert week1.value < 30
    assert week1.reason.startswith("engagement in the bottom 30% of the cohort in week 1")
    assert run(s.LOW_ENGAGEMENT, idle, lc, cohort=cohort).value is None
    assert not run(s.LOW_ENGAGEMENT_WEEK1, busy[0], everyone[0][1], cohort=cohort).fired


def test_compute_signals_returns_every_code_in_order_with_tunable_thresholds():
    lc = ctx(d(3), expected=0.5, progress=0.35)
    results = s.compute_signals(facts(), lc, CC, CohortStats())
    assert tuple(r.code for r in results) == s.CODES
    assert not next(r for r in results if r.code == s.BEHIND_20).fired
    tuned = s.compute_signals(facts(), lc, CC, CohortStats(), {s.BEHIND_20: 0.1})
    assert next(r for r in tuned if r.code == s.BEHIND_20).fired
    # A cohort works its plan out once; the same results as passing the thresholds.
    plan = s.plan_of({s.BEHIND_20: 0.1})
    assert s.compute_signals(facts(), lc, CC, CohortStats(), plan=plan) == tuned
    with pytest.raises(ValueError, match="not both"):
        s.compute_signals(facts(), lc, CC, CohortStats(), {s.BEHIND_20: 0.3}, plan=plan)


def test_cohort_stats_round_trip_through_json():
    everyone = [
        (facts(active(0, 1, 3)), ctx(d(3), progress=p, score=p))
        for p in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
    ]
    stats = s.cohort_stats(everyone, CC)
    assert s.stats_from_json(s.stats_to_json(stats)) == stats
    assert stats.progress_by_week[0].n == 6


active_days = st.lists(st.integers(0, 90), unique=True, max_size=40).map(sorted)


@given(active_days, st.integers(-5, 95), st.integers(-5, 95))
def test_a_span_of_days_is_the_days_in_the_range(offsets, first, last):
    f = facts(active(*offsets, events=2))
    expected = [x for x in f.days if d(first) <= x.day <= d(last)]
    assert list(f.days[f.days.span(d(first), d(last))]) == expected
    assert s.activity_between(f, d(first), d(last)) == 2 * len(expected)


@given(active_days.filter(lambda days: len(days) >= 3))
def test_the_cached_usual_gap_is_the_median_of_the_last_ten_gaps(offsets):
    f = facts(active(*offsets))
    gaps = [b - a for a, b in zip(offsets[-11:], offsets[-11:][1:], strict=False)]
    assert s.cadence_days(f, frozenset(), 2.0) == max(float(statistics.median(gaps)), 1.0)
    # With a pause, the gaps spanning it shrink (never below a day).
    paused = frozenset({d(offsets[-1]) - timedelta(days=1)})
    shrunk = [
        max(b - a - (a < offsets[-1] - 1 < b), 1)
        for a, b in zip(offsets[-11:], offsets[-11:][1:], strict=False)
    ]
    assert s.cadence_days(f, paused, 2.0) == max(float(statistics.median(shrunk)), 1.0)


item_rows = st.dictionaries(
    st.integers(1, 12),
    st.tuples(
        st.integers(0, 5 * 86400),  # first use, seconds after enrolment
        st.booleans(),  # done
        st.integers(0, 4),  # attempts
        st.integers(0, 4),  # failures
        st.floats(0, 5000, allow_nan=False),  # seconds
    ),
    max_size=10,
)
item_sets = st.frozensets(st.integers(1, 12), max_size=6)


@given(item_rows, item_sets, item_sets, item_sets)
def test_the_item_summary_is_what_each_signal_would_work_out_on_its_own(
    rows, start, content, tests
):
    items = {
        k: item(k, first=ENROLLED + timedelta(seconds=at), done=ENROLLED if done else None,
                attempts=attempts, failures=failures, seconds=secs)
        for k, (at, done, attempts, failures, secs) in rows.items()
    }  # fmt: skip
    cc = CourseContext(start_items=start, content_items=content, assessment_items=tests)
    got = s.item_summary(facts(items=items), cc)
    firsts = [i.first_at for k, i in items.items() if not start or k in start]
    assert got.first_start == min(firsts, default=None)
    open_items = {k: i for k, i in items.items() if i.done_at is None}
    most = max((i.failures for i in open_items.values()), default=0)
    assert got.open_failures == most
    assert got.open_failed_item == max(
        (k for k, i in open_items.items() if i.failures == most), default=0
    )
    most = max((i.attempts for i in items.values()), default=0)
    assert got.attempts == most
    assert got.attempted_item == max((k for k, i in items.items() if i.attempts == most), default=0)
    assert got.content_seconds == sum(i.seconds for k, i in items.items() if k in content)
    assert got.assessed == sum(1 for k in tests if k in items)


def learners_with_actions(counts, *, enrolled=ENROLLED):
    """One learner per count: that many actions on d(1) (none for 0)."""
    return [
        LearnerFacts(n, n, enrolled, Days.of([Day(d(1), 1, 0.0, 0, 0, c)] if c else []), {})
        for n, c in enumerate(counts, start=1)
    ]


def test_low_activity_fires_for_the_bottom_fifth_of_peers_at_the_same_point():
    cohort_facts = learners_with_actions([1, 2, 5, 10, 20, 40, 80, 160, 320, 640])
    stats = s.cohort_stats([(f, ctx(d(5))) for f in cohort_facts], CC)
    least, third = cohort_facts[0], cohort_facts[2]
    result = run(s.LOW_ACTIVITY, least, ctx(d(5)), cohort=stats)
    assert result.fired
    assert result.reason.startswith("activity so far in the bottom 20% of peers")
    assert not run(s.LOW_ACTIVITY, third, ctx(d(5)), cohort=stats).fired
    # Learners in a week of their clock with no peers there are not judged.
    later = run(s.LOW_ACTIVITY, least, ctx(d(9)), cohort=stats)
    assert (later.fired, later.value) == (False, None)


def test_low_activity_compares_a_new_enrolee_with_other_new_enrolees_only():
    # A rolling course: ten learners three weeks in, and five who enrolled this week with
    # little activity yet. The newcomers are peers of each other, not of the others.
    old = learners_with_actions([100 + k for k in range(10)])
    new = learners_with_actions([1, 2, 3, 4, 5], enrolled=ENROLLED + timedelta(days=21))
    stats = s.cohort_stats([(f, ctx(d(23))) for f in old + new], CC)
    assert not run(s.LOW_ACTIVITY, new[4], ctx(d(23)), cohort=stats).fired
    assert run(s.LOW_ACTIVITY, new[0], ctx(d(23)), cohort=stats).fired


def test_peers_of_a_fixed_date_course_are_those_at_the_same_week_of_the_course():
    # Registered months apart before the course began on d(60): on d(65) both are in its
    # first week, so they compare with each other, not by the week they registered in.
    fixed = CourseContext(starts_on=d(60))
    early = facts(enrolled=ENROLLED)
    late = facts(enrolled=ENROLLED + timedelta(days=40))
    assert s.week_of(early, d(65), fixed) == s.week_of(late, d(65), fixed) == 0
    stats = s.cohort_stats(
        [(early, ctx(d(65), progress=0.1))] + [(late, ctx(d(65), progress=0.5))] * 5, fixed
    )
    assert stats.progress_by_week[0].n == 6
    assert run(s.PEER_DEVIATION, early, ctx(d(65), progress=0.1), fixed, stats).fired


def test_cohort_quantiles_of_activity_survive_storage():
    stats = s.cohort_stats([(f, ctx(d(5))) for f in learners_with_actions(range(1, 11))], CC)
    assert s.stats_from_json(s.stats_to_json(stats)).actions_by_week == stats.actions_by_week
    # Statistics stored before the quantiles were kept: nothing to compare with, no firing.
    old = {k: v for k, v in s.stats_to_json(stats).items() if k != "actions_by_week"}
    assert run(s.LOW_ACTIVITY, facts(), ctx(d(5)), cohort=s.stats_from_json(old)).value is None
