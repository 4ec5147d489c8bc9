"""Accommodations set by staff on the learner's page, shown to the learner, and followed by
the deadline, the expected pace and the playbooks' delays; audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from completion.models import CompletionCriteria, Progress
from completion.risk.scoring import score_course
from interventions.planning.day_facts import load_day_facts
from lti_tool.models import AuditEntry
from tests.completion.riskdata import START, add, day, enrol, make_course
from tests.helpers import token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada_and_teacher():
    course, items = make_course()
    CompletionCriteria.objects.create(course=course, due_days_after_enrolment=20)
    ada, teacher = enrol(course, "ada"), enrol(course, "teach", role="instructor")
    add(course, ada, "completed", day(1), item=items[0], seconds=600)
    return course, ada, teacher


def test_staff_set_an_accommodation_and_the_learner_sees_it_and_the_deadline_moves(
    ada_and_teacher,
):
    course, ada, teacher = ada_and_teacher
    as_of = day(6).date()
    score_course(course.pk, as_of=as_of)
    before = Progress.objects.get(membership=ada, as_of=as_of)
    assert before.due_on == START.date() + timedelta(days=20)
    lt = token_for(teacher, "instructor")
    answer = Client().post(f"/messages/course/learners/{ada.pk}/", {
        "lt": lt, "action": "accommodation", "time_multiplier": "1.5",
        "deadline_extension_days": "7", "pace_percent": "75",
        "alternative_requirements": "An oral exam instead of the written quiz",
        "note": "disability services letter",
    })  # fmt: skip
    assert "Accommodation saved" in answer.content.decode()
    assert AuditEntry.objects.get(action="completion.accommodation_set").data["pace_percent"] == 75
    score_course(course.pk, as_of=as_of)
    after = Progress.objects.get(membership=ada, as_of=as_of)
    # 20 days stretched by 1.5 at 75% pace (x2) = 40, plus the 7-day extension.
    assert after.due_on == START.date() + timedelta(days=47)
    assert after.expected_percent < before.expected_percent
    page = Client().get("/me/progress/", HTTP_X_FINISHLINE_LAUNCH=token_for(ada)).content.decode()
    assert "Your accommodation" in page
    assert "An oral exam instead of the written quiz" in page
    assert "disability services letter" not in page  # the staff note stays with staff
    assert "Deadline extended by 7 days" in page
    # Playbook delays stretch by the multiplier over the pace share: 1.5 / 0.75 = 2.
    facts = load_day_facts(course, day(6))
    assert facts.multiplier[ada.pk] == pytest.approx(2.0)


def test_an_out_of_range_accommodation_is_refused_on_the_page(ada_and_teacher):
    _course, ada, teacher = ada_and_teacher
    answer = Client().post(f"/messages/course/learners/{ada.pk}/", {
        "lt": token_for(teacher, "instructor"), "action": "accommodation",
        "time_multiplier": "9",
    })  # fmt: skip
    assert answer.status_code == 400
    assert "between 1 and 5" in answer.content.decode()


def test_the_learner_revises_the_schedule_and_the_dates_move(ada_and_teacher):
    course, ada, _teacher = ada_and_teacher
    as_of = day(6).date()
    score_course(course.pk, as_of=as_of)
    before = Progress.objects.get(membership=ada, as_of=as_of)
    lt = token_for(ada)
    page = Client().get("/messages/pause/", HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "Revise your schedule" in page
    answer = Client().post("/messages/pause/", {"lt": lt, "action": "revise", "extra_days": "14",
                                                "reason": "night shifts"})  # fmt: skip
    assert answer.status_code == 302  # back to the page, which shows the new date
    assert AuditEntry.objects.filter(action="completion.schedule_revised").exists()
    score_course(course.pk, as_of=as_of)
    after = Progress.objects.get(membership=ada, as_of=as_of)
    assert after.due_on == before.due_on + timedelta(days=14)
    assert after.expected_percent < before.expected_percent
    shown = Client().get("/messages/pause/", HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert f"{after.due_on:%-d %B %Y}" in shown
    Client().post("/messages/pause/", {"lt": lt, "action": "revise", "extra_days": "7"})
    third = Client().post("/messages/pause/", {"lt": lt, "action": "revise", "extra_days": "7"})
    assert third.status_code == 400
    assert "revised twice already" in third.content.decode()
