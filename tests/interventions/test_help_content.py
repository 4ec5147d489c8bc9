"""Content that helps: the instructor's resources and practice item for an assessment and the
1-on-1 booking link go into the difficulty messages; opted-in peers at the same point are
suggested as study partners."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from completion.models import Item
from interventions.models import AdvisorCase, ContactPreference, OutboundMessage
from interventions.planning.day_facts import load_day_facts
from interventions.planning.planner import _help, plan_course
from lti_tool.models import AuditEntry
from tests.helpers import token_for
from tests.interventions.helpers import NOW, act, enrol

pytestmark = pytest.mark.django_db
PAGE = "/messages/course/help/"


def test_an_instructors_resources_practice_and_booking_link_reach_the_learner(course):
    ada = enrol(course, "ada", name="Ada Lovelace")
    teacher = enrol(course, "teach", role="instructor")
    act(course, ada, "failed", NOW - timedelta(days=2), item="quiz-4", title="Module 4 quiz")
    quiz = Item.objects.get(external_id="quiz-4")
    lt = token_for(teacher, "instructor")
    assert "Module 4 quiz" in Client().get(PAGE, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    saved = Client().post(PAGE, {
        "lt": lt, "booking_url": "https://cal.example.edu/ines",
        f"res-{quiz.pk}": "Fire exits video: https://example.edu/v/4",
        f"prac-{quiz.pk}": "https://example.edu/practice/4",
    })  # fmt: skip
    assert "Saved" in saved.content.decode()
    assert AuditEntry.objects.filter(action="interventions.support_changed").exists()
    act(course, ada, "failed", NOW - timedelta(days=1), item="quiz-4", title="Module 4 quiz")
    plan_course(course_id=course.pk, now=NOW)
    message = OutboundMessage.objects.get(reason="playbook:failed_2")
    assert "Fire exits video: https://example.edu/v/4" in message.body_text
    assert "practice item before your next attempt: https://example.edu/practice/4" in (
        message.body_text
    )
    assert "book a 1-on-1: https://cal.example.edu/ines" in message.body_text
    act(course, ada, "failed", NOW + timedelta(hours=1), item="quiz-4", title="Module 4 quiz")
    plan_course(course_id=course.pk, now=NOW + timedelta(hours=2))
    case = AdvisorCase.objects.get(membership=ada)
    assert "https://cal.example.edu/ines" in case.context["body"]


def test_a_non_https_link_is_refused(course, settings):
    settings.LOCAL = False
    teacher = enrol(course, "teach", role="instructor")
    answer = Client().post(PAGE, {"lt": token_for(teacher, "instructor"),
                                  "booking_url": "ftp://example.edu/x"})  # fmt: skip
    assert answer.status_code == 400


def test_study_partners_are_opted_in_peers_at_about_the_same_point(course):
    me, near, far, shy = (enrol(course, s) for s in ("me", "near", "far", "shy"))
    for m in (me, near, far):
        ContactPreference.objects.create(person=m.person, study_partner_opt_in=True)
    page = Client().post("/messages/contact/", {"lt": token_for(shy), "action": "save",
                                                "email": "on", "study_partner": "on"})  # fmt: skip
    assert page.status_code == 200
    assert ContactPreference.objects.get(person=shy.person).study_partner_opt_in
    facts = load_day_facts(course, NOW)
    assert {pk for pk, _, _ in facts.partners} == {me.pk, near.pk, far.pk, shy.pk}
    facts.partners = [(near.pk, "Near", 40.0), (far.pk, "Far", 90.0), (me.pk, "Me", 42.0)]
    assert _help(facts, None, me, 42.0)["partners"] == "Near"
