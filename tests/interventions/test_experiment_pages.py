"""A/B tests through the pages: an instructor makes one on the interventions page, learners
are assigned under its consent mode (a learner answers on their contact page), a timing arm
delays the send, and the winner is adopted into the playbook in one action."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from interventions.models import Experiment, ExperimentConsent, Intervention, PlaybookSetting
from interventions.planning.planner import plan_course
from lti_tool.models import AuditEntry
from tests.helpers import token_for
from tests.interventions.helpers import NOW, act, enrol

pytestmark = pytest.mark.django_db
PAGE = "/messages/course/experiments/"


def make_test(lt, **extra):
    form = {
        "lt": lt, "action": "create", "name": "Later or now", "step": "absent_2",
        "arm1_key": "now", "arm1_kind": "message", "arm1_value": "progress_saved",
        "arm2_key": "later", "arm2_kind": "delay", "arm2_value": "6",
        "holdout_percent": "0", "consent_mode": "none", **extra,
    }  # fmt: skip
    return Client().post(PAGE, form)


def test_an_instructor_creates_a_test_and_learners_get_their_arm(course):
    teacher = enrol(course, "teach", role="instructor")
    lt = token_for(teacher, "instructor")
    answer = make_test(lt)
    assert "started" in answer.content.decode(), answer.content[:500]
    experiment = Experiment.objects.get()
    assert experiment.arms[1] == {"key": "later", "weight": 1, "delay_hours": 6.0}
    assert AuditEntry.objects.filter(action="interventions.experiment_created").exists()
    learners = [enrol(course, f"l{n}") for n in range(12)]
    for m in learners:
        act(course, m, "viewed", NOW - timedelta(days=2, hours=1))
    plan_course(course_id=course.pk, now=NOW)
    rows = Intervention.objects.filter(step="absent_2", experiment=experiment)
    assert {r.arm for r in rows} == {"now", "later"}
    for row in rows.filter(arm="later"):
        assert row.status == "scheduled"
        assert row.send_at == NOW + timedelta(hours=6)
    assert make_test(lt).status_code == 400  # one running test per step
    page = Client().get(PAGE, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "Later or now" in page
    assert "6.0 h later" in page


def test_opt_in_tests_take_only_learners_who_said_yes_on_their_page(course):
    teacher = enrol(course, "teach", role="instructor")
    make_test(token_for(teacher, "instructor"), consent_mode="opt_in")
    experiment = Experiment.objects.get()
    yes, silent = enrol(course, "yes"), enrol(course, "silent")
    contact = Client().get("/messages/contact/", HTTP_X_FINISHLINE_LAUNCH=token_for(yes))
    assert "Later or now" in contact.content.decode()
    Client().post("/messages/contact/", {
        "lt": token_for(yes), "action": "consent", "experiment": experiment.pk, "answer": "yes",
    })  # fmt: skip
    assert ExperimentConsent.objects.get(membership=yes).consented
    for m in (yes, silent):
        act(course, m, "viewed", NOW - timedelta(days=2, hours=1))
    plan_course(course_id=course.pk, now=NOW)
    assert Intervention.objects.get(membership=yes).experiment_id == experiment.pk
    assert Intervention.objects.get(membership=silent).experiment_id is None


def test_adopting_the_winner_changes_the_playbook_and_stops_the_test(course):
    teacher = enrol(course, "teach", role="instructor")
    lt = token_for(teacher, "instructor")
    make_test(lt)
    experiment = Experiment.objects.get()
    answer = Client().post(
        PAGE, {"lt": lt, "action": "adopt", "experiment": experiment.pk, "arm": "later"}
    )
    assert "adopted" in answer.content.decode()
    setting = PlaybookSetting.objects.get(course=course, playbook="absence")
    assert setting.step_overrides["absent_2"] == {"send_delay_hours": 6.0}
    experiment.refresh_from_db()
    assert (experiment.adopted_arm, experiment.active) == ("later", False)
    m = enrol(course, "after")
    act(course, m, "viewed", NOW - timedelta(days=2, hours=1))
    plan_course(course_id=course.pk, now=NOW)
    row = Intervention.objects.get(membership=m)
    assert (row.status, row.send_at, row.experiment_id) == (
        "scheduled", NOW + timedelta(hours=6), None,
    )  # fmt: skip
