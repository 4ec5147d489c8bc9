from __future__ import annotations

import pytest
from django.test import Client

from completion import charts
from completion.scoring import score_course
from lti_tool.context import LaunchContext
from tests.completion.riskdata import add, day, enrol, make_course


def test_survival_counts_learners_still_active_and_marks_the_biggest_drops():
    offsets = [-1, 0, 0, 0, 2, 2, 5, 9, 9, 9]
    counts = charts.survival(offsets, 10)
    assert counts[:3] == [9, 6, 6]
    assert counts[3] == 4
    assert counts[10] == 0
    assert charts.inflection_days(counts) == [0, 2, 9]
    curve = charts.drop_off_curve(counts)
    assert curve.max_value == 9
    assert len(curve.points.split()) == 11
    assert [m[2] for m in curve.marks] == [
        "day 0: 3 stopped",
        "day 2: 2 stopped",
        "day 9: 3 stopped",
    ]


def test_tier_bars_stack_to_scale():
    bars = charts.tier_bars([("a", {"red": 1, "green": 1}), ("b", {"yellow": 4})])
    heights = {tier: h for _, h, tier, _ in bars[1].segments}
    assert heights["yellow"] == charts.HEIGHT
    assert sum(h for _, h, _, _ in bars[0].segments) == charts.HEIGHT / 2


@pytest.mark.django_db
def test_the_overview_page_draws_both_charts_for_staff_only():
    course, (intro, *_rest) = make_course()
    members = [enrol(course, f"l{n}") for n in range(4)]
    for n, m in enumerate(members):
        add(course, m, "viewed", day(n), item=intro)
    score_course(course.pk, as_of=day(5).date())
    teacher = enrol(course, "t", role="instructor")

    def lt(m, role):
        return LaunchContext(deployment_id=course.deployment_id,
                             platform_id=course.deployment.platform_id, person_id=m.person_id,
                             course_id=course.pk, membership_id=m.pk, role=role).sign()  # fmt: skip

    body = Client().get("/course/overview/", {"lt": lt(teacher, "instructor")}).content.decode()
    assert "<polyline" in body
    assert "4 learners" in body
    assert "fill-red" in body or "fill-green" in body
    assert Client().get("/course/overview/", {"lt": lt(members[0], "learner")}).status_code == 403
