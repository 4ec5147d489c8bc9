"""Deadline reminders 30, 14 and 3 days before (a course's own days through its criteria
page), each once, to the learner; the last one to their manager too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from completion.models import CompletionCriteria
from completion.risk.scoring import score_course
from completion.risk.services import update_criteria
from interventions import tasks
from interventions.learners.deadlines import reminder_for, send_deadline_reminders
from interventions.models import OutboundMessage
from tests.completion.riskdata import START, add, day, enrol, make_course
from tests.helpers import token_for

pytestmark = pytest.mark.django_db


def test_the_nearest_reminder_whose_moment_has_come():
    due = START.date() + timedelta(days=40)
    assert reminder_for(due, due - timedelta(days=31), (30, 14, 3)) is None
    assert reminder_for(due, due - timedelta(days=20), (30, 14, 3)) == 30
    assert reminder_for(due, due - timedelta(days=2), (30, 14, 3)) == 3
    assert reminder_for(due, due + timedelta(days=1), (30, 14, 3)) is None


def test_reminders_go_once_each_and_the_last_reaches_the_manager():
    course, items = make_course()
    CompletionCriteria.objects.create(course=course, due_days_after_enrolment=10)
    ada = enrol(course, "ada")
    ada.person.email = "ada@example.com"
    ada.person.attributes = {"manager_email": "boss@example.com"}
    ada.person.save()
    teacher = enrol(course, "teach", role="instructor")
    add(course, ada, "viewed", day(1), item=items[0])
    # The instructor sets the course's own reminder days on the criteria page.
    lt = token_for(teacher, "instructor")
    page = Client().get("/course/criteria/", HTTP_X_FINISHLINE_LAUNCH=lt)
    assert "Deadline reminders" in page.content.decode()
    update_criteria(course=course, values={"reminder_days": [5, 2]}, by="test")
    for offset in (4, 5, 5, 8, 9):  # due 10 days after enrolment
        score_course(course.pk, as_of=day(offset).date())
        send_deadline_reminders(now=day(offset))
    assert tasks.deadline_reminders() == 0  # today (real time) nothing is due
    reasons = sorted(OutboundMessage.objects.values_list("reason", "to_address"))
    assert reasons == [
        ("deadline_2", "ada@example.com"),
        ("deadline_2_manager", "boss@example.com"),
        ("deadline_5", "ada@example.com"),
    ]


def test_a_second_run_the_same_day_counts_no_reminder_it_queued_before():
    course, items = make_course()
    CompletionCriteria.objects.create(course=course, due_days_after_enrolment=10)
    for sub in ("ada", "bea"):
        m = enrol(course, sub)
        m.person.email = f"{sub}@example.com"
        m.person.save()
        add(course, m, "viewed", day(1), item=items[0])
    score_course(course.pk, as_of=day(8).date())  # 2 days left: the 3-day reminder is due
    assert send_deadline_reminders(now=day(8)) == 2
    assert send_deadline_reminders(now=day(8, hour=15)) == 0
    assert OutboundMessage.objects.filter(reason="deadline_3").count() == 2
