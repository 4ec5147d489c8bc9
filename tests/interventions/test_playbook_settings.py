"""Instructors edit playbooks and message wording; the planner follows their choices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from interventions.models import MessageTemplate, OutboundMessage, PlaybookSetting
from interventions.planning.planner import plan_course
from lti_tool.models import AuditEntry
from tests.helpers import token_for
from tests.interventions.helpers import NOW, act, enrol

pytestmark = pytest.mark.django_db


def steps_form(lt, **changes):
    """The settings form as the page posts it, defaults untouched, with `changes` applied."""
    from interventions.playbook_editor.services import playbook_rows
    from lti_tool.models import Course

    data = {"lt": lt}
    for pb in playbook_rows(Course.objects.get(context_id="c1")):
        data[f"pb-{pb.key}-enabled"] = "on"
        for st in pb.steps:
            data[f"st-{st.key}-enabled"] = "on"
            data[f"st-{st.key}-value"] = str(st.value)
            data[f"st-{st.key}-channels"] = list(st.channels)
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_saving_the_defaults_stores_nothing_and_a_change_stores_only_the_difference(course):
    teacher = enrol(course, "t", role="instructor")
    lt = token_for(teacher, "instructor")
    page = Client().get("/messages/course/playbooks/", {}, HTTP_X_FINISHLINE_LAUNCH=lt)
    assert "Absence" in page.content.decode()
    Client().post("/messages/course/playbooks/", steps_form(lt))
    assert not PlaybookSetting.objects.exists()
    Client().post(
        "/messages/course/playbooks/",
        steps_form(lt, **{"st-absent_2-value": "3", "pb-milestones-enabled": None}),
    )
    absence = PlaybookSetting.objects.get(playbook="absence")
    assert absence.step_overrides == {"absent_2": {"delay": 3.0}}
    assert PlaybookSetting.objects.get(playbook="milestones").enabled is False
    assert AuditEntry.objects.filter(action="interventions.playbook_changed").count() == 2


def test_the_planner_waits_for_the_instructors_delay(course):
    teacher = enrol(course, "t", role="instructor")
    learner = enrol(course, "b", name="Bea Learner")
    act(course, learner, "viewed", NOW - timedelta(days=2, hours=1))
    Client().post(
        "/messages/course/playbooks/",
        steps_form(token_for(teacher, "instructor"), **{"st-absent_2-value": "3"}),
    )
    plan_course(course_id=course.pk, now=NOW)
    assert not OutboundMessage.objects.exists()  # day 2 is now day 3
    plan_course(course_id=course.pk, now=NOW + timedelta(days=1))
    assert OutboundMessage.objects.get().reason == "playbook:absent_2"


def test_bad_choices_are_refused_with_a_reason(course):
    lt = token_for(enrol(course, "t", role="instructor"), "instructor")
    sms_for_staff = Client().post(
        "/messages/course/playbooks/", steps_form(lt, **{"st-absent_10-channels": ["sms"]})
    )
    assert sms_for_staff.status_code == 400
    assert "not a channel here" in sms_for_staff.content.decode()
    negative = Client().post(
        "/messages/course/playbooks/", steps_form(lt, **{"st-absent_2-value": "-1"})
    )
    assert negative.status_code == 400
    assert not PlaybookSetting.objects.exists()


def test_a_course_wording_is_previewed_saved_used_and_reset(course):
    teacher = enrol(course, "t", role="instructor")
    lt = token_for(teacher, "instructor")
    url = "/messages/course/templates/progress_saved/"
    subject = "Still with us, {{ first_name }}?"
    body = "You are {{ percent }}% through {{ course }}."
    preview = Client().post(url, {"lt": lt, "action": "preview", "subject": subject, "body": body})
    assert "Still with us, Alex?" in preview.content.decode()
    broken = Client().post(url, {"lt": lt, "action": "save", "subject": "{% if %}", "body": "x"})
    assert broken.status_code == 400
    Client().post(url, {"lt": lt, "action": "save", "subject": subject, "body": body})
    assert MessageTemplate.objects.get(course=course, key="progress_saved").subject == subject
    learner = enrol(course, "b", name="Bea Learner")
    act(course, learner, "viewed", NOW - timedelta(days=2, hours=1))
    plan_course(course_id=course.pk, now=NOW)
    assert OutboundMessage.objects.get().subject == "Still with us, Bea?"
    Client().post(url, {"lt": lt, "action": "reset"})
    assert not MessageTemplate.objects.exists()
    assert (
        Client()
        .get("/messages/course/templates/nope/", {}, HTTP_X_FINISHLINE_LAUNCH=lt)
        .status_code
        == 404
    )


def test_learners_cannot_edit(course):
    learner = enrol(course, "b")
    assert (
        Client()
        .get("/messages/course/playbooks/", {}, HTTP_X_FINISHLINE_LAUNCH=token_for(learner))
        .status_code
        == 403
    )
