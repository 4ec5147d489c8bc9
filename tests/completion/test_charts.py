from __future__ import annotations

from collections import Counter

import pytest
from django.test import Client

from completion.instructor import charts
from completion.risk.scoring import score_course
from lti_tool.context import LaunchContext
from tests.completion.riskdata import add, day, enrol, make_course
from tests.helpers import session_token


def test_survival_is_the_share_still_active_among_learners_enrolled_that_long():
    # (last active day, days enrolled): the last two enrolled yesterday and are not drop-outs.
    learners = [(-1, 10), (0, 10), (0, 10), (2, 10), (9, 10), (9, 10), (1, 1), (1, 1)]
    shares = charts.survival(Counter(learners), 10)
    assert shares[0] == 7 / 8  # the one who never started
    assert shares[1] == 5 / 8
    assert shares[2] == 3 / 6  # day 2 is observed only for the six enrolled ten days
    assert shares[3] == 2 / 6
    assert len(shares) == 11
    assert charts.inflection_days(shares) == [0, 2, 9]
    curve = charts.drop_off_curve(shares)
    assert len(curve.points.split()) == 11
    assert curve.marks[1][2] == "after day 2: 17 points fewer active"
    assert charts.survival({(5, 3): 4}, 3) == []  # too few learners to draw


def test_tier_bars_stack_to_scale():
    bars = charts.tier_bars([("a", {"red": 1, "green": 1}), ("b", {"yellow": 4})])
    heights = {tier: h for _, h, tier, _ in bars[1].segments}
    assert heights["yellow"] == charts.HEIGHT
    assert sum(h for _, h, _, _ in bars[0].segments) == charts.HEIGHT / 2


@pytest.mark.django_db
def test_the_overview_page_draws_both_charts_for_staff_only():
    course, (intro, *_rest) = make_course()
    members = [enrol(course, f"l{n}") for n in range(6)]
    for n, m in enumerate(members):
        add(course, m, "viewed", day(n), item=intro)
    score_course(course.pk, as_of=day(5).date())
    teacher = enrol(course, "t", role="instructor")

    def lt(m, role):
        return session_token(LaunchContext(deployment_id=course.deployment_id,
                             platform_id=course.deployment.platform_id, person_id=m.person_id,
                             course_id=course.pk, membership_id=m.pk, role=role))  # fmt: skip

    body = (
        Client()
        .get("/course/overview/", {}, HTTP_X_FINISHLINE_LAUNCH=lt(teacher, "instructor"))
        .content.decode()
    )
    assert "<polyline" in body
    assert "6 learners" in body
    assert "100%" in body
    assert "fill-red" in body or "fill-green" in body
    assert (
        Client()
        .get("/course/overview/", {}, HTTP_X_FINISHLINE_LAUNCH=lt(members[0], "learner"))
        .status_code
        == 403
    )


@pytest.mark.django_db
def test_settled_days_come_from_the_cache_and_the_newest_day_is_read_live():
    from completion.instructor.chart_counts import tiers_per_day
    from completion.models import RiskScore

    course, (intro, *_rest) = make_course()
    for n in range(4):
        add(course, enrol(course, f"l{n}"), "viewed", day(1), item=intro)
    score_course(course.pk, as_of=day(2).date())
    score_course(course.pk, as_of=day(3).date())
    first = tiers_per_day(course)
    assert [d for d, _ in first] == [day(2).date(), day(3).date()]
    RiskScore.objects.filter(course=course, as_of=day(2).date()).delete()  # a settled day
    RiskScore.objects.filter(course=course, as_of=day(3).date()).update(tier="red")
    again = tiers_per_day(course)
    assert again[0] == first[0]  # kept
    assert again[1] == (day(3).date(), {"red": 4})  # live


@pytest.mark.django_db
def test_last_active_days_are_counted_as_whole_days_rounded_down_as_python_does():
    from completion.instructor.chart_counts import last_active_counts

    course, (intro, *_rest) = make_course()
    now = day(9, hour=8)
    # (enrolled, last active): same day, 1.5 days after, never, and 1.5 days *before* enrolling
    # (an imported history), which rounds down to -2 as timedelta.days does.
    cases = [(day(2), day(2, hour=12)), (day(2), day(4, hour=0)), (day(3), None),
             (day(5), day(3, hour=22))]  # fmt: skip
    expected = Counter()
    for n, (enrolled, last) in enumerate(cases):
        m = enrol(course, f"l{n}", at=enrolled)
        if last is not None:
            add(course, m, "viewed", last, item=intro)
        never = last is None
        expected[(-1 if never else (last - enrolled).days, (now - enrolled).days)] += 1
    assert last_active_counts(course, now=now) == dict(expected)
    assert (-2, 3) in expected  # the case above really is negative
