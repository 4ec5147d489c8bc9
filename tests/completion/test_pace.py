from __future__ import annotations

from datetime import date

import pytest

from completion.progress import pace
from completion.progress.pace import Anchor, Pause, Timeline

MON = date(2026, 1, 5)  # a Monday
TUE, WED, THU, FRI, SAT, SUN = (date(2026, 1, d) for d in range(6, 12))


def test_working_days_skip_weekends_and_blackout_dates():
    assert pace.working_days(MON, FRI) == 5
    assert pace.working_days(MON, SUN) == 5
    assert pace.working_days(MON, SUN, False) == 7
    assert pace.working_days(MON, FRI, True, frozenset({WED})) == 4
    # A blackout that falls on a weekend is not skipped twice.
    assert pace.working_days(MON, SUN, True, frozenset({SAT})) == 5
    assert pace.working_days(FRI, MON) == 0
    assert pace.working_days(MON, date(2026, 1, 18)) == 10


def test_relative_timeline_expects_a_straight_line_over_working_days():
    timeline = Timeline(mode="relative", duration_days=10)
    assert pace.expected_share(timeline, enrolled_on=MON, as_of=FRI) == pytest.approx(0.5)
    assert pace.expected_share(timeline, enrolled_on=MON, as_of=SUN) == pytest.approx(0.5)
    assert pace.expected_share(timeline, enrolled_on=MON, as_of=date(2026, 1, 4)) == 0.0
    assert pace.expected_share(timeline, enrolled_on=MON, as_of=date(2026, 2, 1)) == 1.0


def test_rolling_enrolment_starts_each_learner_on_their_own_day():
    timeline = Timeline(mode="relative", duration_days=10)
    assert pace.expected_share(timeline, enrolled_on=THU, as_of=FRI) == pytest.approx(0.2)


def test_blackout_dates_do_not_count_as_elapsed():
    timeline = Timeline(mode="relative", duration_days=10, blackout=frozenset({WED}))
    assert pace.expected_share(timeline, enrolled_on=MON, as_of=FRI) == pytest.approx(0.4)


def test_a_pause_freezes_expectations_while_it_lasts():
    timeline = Timeline(mode="relative", duration_days=10)
    pauses = (Pause(WED, THU),)
    shares = [
        pace.expected_share(timeline, enrolled_on=MON, as_of=d, pauses=pauses)
        for d in (TUE, WED, THU, FRI)
    ]
    assert shares == pytest.approx([0.2, 0.2, 0.2, 0.3])


def test_an_accommodation_multiplier_stretches_the_timeline():
    timeline = Timeline(mode="relative", duration_days=10)
    assert pace.expected_share(
        timeline, enrolled_on=MON, as_of=FRI, multiplier=2.0
    ) == pytest.approx(0.25)


def test_a_fixed_anchor_bends_the_line_through_it():
    # Workshop on Wednesday: 60% done by then (3 working days of 10).
    timeline = Timeline(mode="relative", duration_days=10, anchors=(Anchor(WED, 0.6, "Workshop"),))
    assert pace.expected_share(timeline, enrolled_on=MON, as_of=TUE) == pytest.approx(0.4)
    assert pace.expected_share(timeline, enrolled_on=MON, as_of=WED) == pytest.approx(0.6)
    assert pace.expected_share(timeline, enrolled_on=MON, as_of=FRI) == pytest.approx(
        0.6 + 0.4 * 2 / 7
    )


def test_an_anchor_before_a_learners_enrolment_sets_no_expectation():
    timeline = Timeline(mode="relative", duration_days=10, anchors=(Anchor(MON, 0.9),))
    assert pace.expected_share(timeline, enrolled_on=TUE, as_of=WED) == pytest.approx(0.2)


def test_absolute_timeline_uses_course_dates_even_for_late_enrolments():
    timeline = Timeline(mode="absolute", starts_on=MON, ends_on=date(2026, 1, 16))
    assert pace.expected_share(timeline, enrolled_on=THU, as_of=FRI) == pytest.approx(0.5)


def test_self_paced_course_follows_earlier_completers_else_the_default_length():
    timeline = Timeline(mode="self_paced", duration_days=10)
    assert pace.expected_share(
        timeline, enrolled_on=MON, as_of=TUE, reference_days=4
    ) == pytest.approx(0.5)
    assert pace.expected_share(timeline, enrolled_on=MON, as_of=TUE) == pytest.approx(0.2)


def test_due_dates_fixed_relative_stretched_and_paused():
    assert pace.due_date(due_on=None, due_days_after_enrolment=30, enrolled_on=MON) == date(
        2026, 2, 4
    )
    assert pace.due_date(
        due_on=None, due_days_after_enrolment=30, enrolled_on=MON, multiplier=1.5
    ) == date(2026, 2, 19)
    assert pace.due_date(
        due_on=None, due_days_after_enrolment=30, enrolled_on=MON, pauses=(Pause(WED, FRI),)
    ) == date(2026, 2, 7)
    assert pace.due_date(
        due_on=date(2026, 1, 20), due_days_after_enrolment=30, enrolled_on=MON
    ) == date(2026, 1, 20)
    assert pace.due_date(due_on=None, due_days_after_enrolment=None, enrolled_on=MON) is None


def test_add_working_days_lands_on_the_nth_working_day():
    timeline = Timeline(blackout=frozenset({WED}))
    assert pace.add_working_days(MON, 3, timeline) == THU
    assert pace.add_working_days(MON, 5, timeline) == date(2026, 1, 12)
