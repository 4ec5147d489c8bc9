"""The instructor roster: server-side filters, sorting and paging over a day's scores."""

from __future__ import annotations

import pytest
from django.test import Client

from completion.instructor.roster import RosterQuery, matching_memberships, roster_page
from completion.models import RiskScore
from completion.risk.scoring import score_course
from lti_tool.context import LaunchContext
from tests.completion.riskdata import add, day, enrol, make_course
from tests.helpers import session_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def course_of_twelve():
    course, (intro, reading, _lecture, quiz, _forum) = make_course()
    members = []
    for n in range(12):
        m = enrol(course, f"learner-{n:02d}")
        members.append(m)
        if n % 3 == 0:  # a third never start; a third fail the quiz twice; a third do well
            continue
        add(course, m, "viewed", day(1), item=intro, seconds=300)
        add(course, m, "completed", day(1), item=intro)
        if n % 3 == 1:
            add(course, m, "failed", day(2), item=quiz, score=0.2)
            add(course, m, "failed", day(2, 11), item=quiz, score=0.3)
        else:
            add(course, m, "completed", day(2), item=reading)
            add(course, m, "passed", day(3), item=quiz, score=0.9)
    score_course(course.pk, as_of=day(6).date())
    return course, members


def test_a_page_is_sorted_by_probability_and_counts_the_whole_course(course_of_twelve):
    course, _ = course_of_twelve
    page = roster_page(course, RosterQuery(), per_page=5)
    assert page.total == 12
    assert page.pages == 3
    assert len(page.rows) == 5
    assert sum(page.tier_counts.values()) == 12
    probabilities = [r.probability for r in page.rows]
    assert probabilities == sorted(probabilities)
    last = roster_page(course, RosterQuery(page=3), per_page=5)
    assert len(last.rows) == 2
    assert roster_page(course, RosterQuery(page=99), per_page=5).page == 3


def test_filters_by_tier_status_signal_and_name(course_of_twelve):
    course, _members = course_of_twelve
    for tier in ("red", "yellow", "green"):
        rows = roster_page(course, RosterQuery(tier=tier), per_page=100).rows
        expected = RiskScore.objects.filter(course=course, tier=tier).count()
        assert len(rows) == expected
        assert {r.tier for r in rows} <= {tier}
    failed = roster_page(course, RosterQuery(reason="failed_twice"), per_page=100)
    assert sorted(r.name for r in failed.rows) == [f"learner-{n:02d}" for n in (1, 4, 7, 10)]
    assert ("failed_twice", 4) in failed.reasons
    statuses = {code for code, _ in failed.statuses}
    one = sorted(statuses)[0]
    only = roster_page(course, RosterQuery(status=one), per_page=100).rows
    assert only
    assert {r.status for r in only} == {one}
    named = roster_page(course, RosterQuery(search="NER-07"), per_page=100).rows
    assert [r.name for r in named] == ["learner-07"]


def test_sorting_by_name_and_progress_and_the_last_activity_of_each_row(course_of_twelve):
    course, _ = course_of_twelve
    names = [r.name for r in roster_page(course, RosterQuery(sort="-name"), per_page=100).rows]
    assert names == sorted(names, reverse=True)
    rows = roster_page(course, RosterQuery(sort="-progress"), per_page=100).rows
    assert [r.percent_complete for r in rows] == sorted(
        (r.percent_complete for r in rows), reverse=True
    )
    by_name = {r.name: r for r in rows}
    assert by_name["learner-00"].last_activity is None
    assert by_name["learner-02"].last_activity == day(3)


def test_the_roster_page_renders_filters_and_links_each_learner(course_of_twelve):
    course, members = course_of_twelve
    teacher = enrol(course, "teacher", role="instructor")
    lt = session_token(
        LaunchContext(
            deployment_id=course.deployment_id,
            platform_id=course.deployment.platform_id,
            person_id=teacher.person_id,
            course_id=course.pk,
            membership_id=teacher.pk,
            role="instructor",
        )
    )
    body = (
        Client()
        .get("/course/risk/", {"reason": "failed_twice"}, HTTP_X_FINISHLINE_LAUNCH=lt)
        .content.decode()
    )
    assert "4 learners match" in body
    assert f"/messages/course/learners/{members[1].pk}/" in body
    assert "learner-00" not in body


def test_teaching_assistants_read_criteria_but_only_instructors_change_them(course_of_twelve):
    from completion.models import CompletionCriteria
    from tests.helpers import token_for

    course, members = course_of_twelve
    ta = enrol(course, "ta", role="ta")
    assert (
        Client()
        .get("/course/criteria/", {}, HTTP_X_FINISHLINE_LAUNCH=token_for(ta, "ta"))
        .status_code
        == 200
    )
    post = Client().post("/course/criteria/", {"lt": token_for(ta, "ta"), "min_content_share": 10})
    assert post.status_code == 403
    override = Client().post(
        f"/course/learners/{members[0].pk}/status/",
        {"lt": token_for(ta, "ta"), "status": "completed", "reason": "x"},
    )
    assert override.status_code == 403
    assert not CompletionCriteria.objects.filter(course=course, min_content_share=0.1).exists()


def test_filters_by_section_and_group_from_the_learners_attributes(course_of_twelve):
    course, members = course_of_twelve
    for n, m in enumerate(members):
        m.person.attributes = {"section": "A" if n < 5 else "B", "group": f"g{n % 2}"}
        m.person.save()
    page = roster_page(course, RosterQuery(section="A"), per_page=100)
    assert page.sections == ["A", "B"]
    assert page.groups == ["g0", "g1"]
    assert sorted(r.name for r in page.rows) == [f"learner-{n:02d}" for n in range(5)]
    both = roster_page(course, RosterQuery(section="B", group="g1"), per_page=100).rows
    assert sorted(r.name for r in both) == [f"learner-{n:02d}" for n in (5, 7, 9, 11)]


def test_learners_not_scored_yet_follow_the_scored_ones_in_counts_pages_sorts_and_filters(
    course_of_twelve,
):
    course, _ = course_of_twelve
    for sub in ("new-bea", "new-al", "new-cy"):  # enrolled since the scoring pass
        enrol(course, sub)
    gone = enrol(course, "new-gone")
    gone.status = "inactive"
    gone.save(update_fields=["status"])
    page = roster_page(course, RosterQuery(), per_page=5)
    assert (page.total, page.pages) == (15, 3)
    assert page.tier_counts["unscored"] == 3
    assert sum(page.tier_counts[t] for t in ("red", "yellow", "green")) == 12
    last = roster_page(course, RosterQuery(page=3), per_page=5)
    # Rows 11-15: the last two scored learners, then the three not scored yet, by name.
    assert [r.name for r in last.rows][2:] == ["new-al", "new-bea", "new-cy"]
    assert [r.tier == "unscored" for r in last.rows] == [False, False, True, True, True]
    middle = roster_page(course, RosterQuery(page=3), per_page=7)  # 12 scored, then 3
    assert [r.tier for r in middle.rows] == ["unscored"]
    assert [r.name for r in middle.rows] == ["new-cy"]
    by_name = roster_page(course, RosterQuery(sort="-name"), per_page=100)
    assert [r.name for r in by_name.rows][-3:] == ["new-cy", "new-bea", "new-al"]
    only = roster_page(course, RosterQuery(tier="unscored"), per_page=100)
    assert (only.total, [r.name for r in only.rows]) == (3, ["new-al", "new-bea", "new-cy"])
    assert only.tier_counts["unscored"] == 3
    named = roster_page(course, RosterQuery(search="BEA"), per_page=100)
    assert [r.name for r in named.rows] == ["new-bea"]
    assert roster_page(course, RosterQuery(tier="red"), per_page=100).total == (
        RiskScore.objects.filter(course=course, tier="red").count()
    )
    assert roster_page(course, RosterQuery(reason="failed_twice"), per_page=100).total == 4
    assert len(matching_memberships(course, RosterQuery())) == 15


def test_a_course_nobody_was_scored_in_lists_its_learners(course_of_twelve):
    course, _ = course_of_twelve
    RiskScore.objects.filter(course=course).delete()
    page = roster_page(course, RosterQuery(), per_page=100)
    assert page.day is None
    assert (page.total, page.tier_counts["unscored"]) == (12, 12)
    teacher = enrol(course, "teacher", role="instructor")
    lt = session_token(LaunchContext(
        deployment_id=course.deployment_id, platform_id=course.deployment.platform_id,
        person_id=teacher.person_id, course_id=course.pk, membership_id=teacher.pk,
        role="instructor",
    ))  # fmt: skip
    body = Client().get("/course/risk/", HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "12 not scored yet" in body
    assert "12 learners match" in body
    assert body.count("Not scored yet</span>") == 12


def test_a_past_day_lists_as_unscored_only_those_enrolled_by_then(course_of_twelve):
    course, _ = course_of_twelve
    scored_on = day(6).date()
    enrol(course, "early-unscored", at=day(2))  # enrolled before the day, missed by its pass
    enrol(course, "on-the-day", at=day(6, 23))
    enrol(course, "later", at=day(7, 0))  # joined after the day shown
    past = RosterQuery(day=scored_on, tier="unscored")
    page = roster_page(course, past, per_page=100)
    assert [r.name for r in page.rows] == ["early-unscored", "on-the-day"]
    assert page.tier_counts["unscored"] == 2
    assert roster_page(course, RosterQuery(day=scored_on), per_page=100).total == 14
    assert len(matching_memberships(course, past)) == 2
    # The current roster (no day chosen) lists everyone enrolled now.
    assert roster_page(course, RosterQuery(tier="unscored"), per_page=100).total == 3


def test_a_bulk_action_takes_the_unscored_learners_in_the_page_order(course_of_twelve):
    course, _ = course_of_twelve
    for sub in ("new-bea", "new-al", "new-cy"):
        enrol(course, sub)
    for sort in ("-name", "name", "risk"):
        q = RosterQuery(sort=sort)
        shown = [r.membership_id for r in roster_page(course, q, per_page=100).rows]
        assert matching_memberships(course, q) == shown, sort
