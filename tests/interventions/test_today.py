"""The instructor's Today page: headline figures, 8 days of charts with their tables, the
short list of whom to contact, and the launch landing on it."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from completion.models import RiskScore
from completion.risk.scoring import score_course
from interventions.today import charts
from interventions.today.figures import CONTACTS, today_page
from tests.completion.riskdata import add, day, enrol, make_course
from tests.helpers import launch_header, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored_course():
    course, (intro, reading, _lecture, quiz, _forum) = make_course()
    members = []
    for n in range(15):
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
    for n in range(1, 9):  # eight days of history
        score_course(course.pk, as_of=day(n).date())
    teacher = enrol(course, "teacher", role="instructor")
    return course, members, teacher


def test_the_figures_count_the_day_and_compare_with_a_week_before(scored_course):
    course, _, _ = scored_course
    page = today_page(course, now=day(9))
    last = day(8).date()
    red_now = RiskScore.objects.filter(course=course, as_of=last, tier="red").count()
    red_then = RiskScore.objects.filter(course=course, as_of=day(1).date(), tier="red").count()
    assert page.day == last
    assert page.learners == 15
    assert page.attention == red_now
    assert page.attention_change == red_now - red_then
    assert [d for d, _ in page.risk_mix] == [day(n).date() for n in range(1, 9)]
    assert len(page.pace) == 8
    assert len(page.contacts) == min(red_now, CONTACTS)
    chances = [c.probability for c in page.contacts]
    assert chances == sorted(chances)
    assert all(len(c.history) == 8 for c in page.contacts)


def test_the_page_shows_figures_charts_tables_and_contacts_in_words(scored_course):
    _, _, teacher = scored_course
    token = token_for(teacher, "instructor")
    response = Client().get("/course/today/", **launch_header(token))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Need attention today" in html
    assert "Who to contact today" in html
    assert html.count('<svg role="img"') >= 2  # the risk mix and pace charts, and sparklines
    assert "<script" not in html.split("</head>", 1)[1]  # no inline script in the body
    assert "Risk over the last 8 days" in html
    assert "not_started_48h" not in re.sub(r'title="[^"]*"', "", html)  # codes only in tooltips
    assert "This launch" not in html


def test_course_home_leads_to_today(scored_course):
    _, _, teacher = scored_course
    response = Client().get("/course/", **launch_header(token_for(teacher, "instructor")))
    assert response.status_code == 302
    assert response["Location"] == "/course/today/"


def test_learners_cannot_open_today(scored_course):
    _, members, _ = scored_course
    response = Client().get("/course/today/", **launch_header(token_for(members[1])))
    assert response.status_code == 403


def test_charts_are_single_images_without_scripts():
    from datetime import date

    svg = charts.risk_mix([(date(2026, 1, 1), {"red": 2, "yellow": 3, "green": 4})])
    assert svg.startswith('<svg role="img" aria-label="Learners per risk group per day')
    assert "2 need attention" in svg
    assert "<script" not in svg
    spark = charts.sparkline([0.5, 0.25], "Ann")
    assert "Ann: chance of finishing 50% 2 days ago, 25% now" in spark


def test_messages_count_as_sent_only_when_the_outbox_sent_them(scored_course):
    from interventions.models import OutboundMessage

    course, members, _ = scored_course
    for n, status in enumerate(["pending", "sent", "failed"]):
        OutboundMessage.objects.create(
            idempotency_key=f"t{n}", deployment=course.deployment, course=course,
            membership=members[n], channel="email", to_address="x@example.edu", body_text="hi",
            status=status, not_before=day(8), sent_at=day(8) if status == "sent" else None,
        )  # fmt: skip
    page = today_page(course, now=day(9))
    assert page.sent_week == 1
    assert page.queued == 1
