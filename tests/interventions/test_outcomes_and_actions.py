from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from interventions.learners import actions
from interventions.measurement.experiments import ArmResult, compare
from interventions.measurement.outcomes import arm_results, measure_outcomes, recovery_rates
from interventions.models import (
    AdvisorCase,
    ContactPreference,
    Experiment,
    Intervention,
    OutboundMessage,
)
from interventions.planning.planner import plan_course
from lti_tool.models import AuditEntry, Membership
from tests.interventions.helpers import NOW, act, enrol


def test_outcome_is_recovered_when_the_learner_returns_within_the_window(course):
    back, gone = enrol(course, "back"), enrol(course, "gone")
    for m in (back, gone):
        act(course, m, "viewed", NOW - timedelta(days=3))
    plan_course(course_id=course.pk, now=NOW)
    act(course, back, "viewed", NOW + timedelta(hours=20))
    assert measure_outcomes(now=NOW + timedelta(hours=47)) == 0  # the window is still open
    assert measure_outcomes(now=NOW + timedelta(days=8)) == 4
    outcomes = dict(Intervention.objects.values_list("membership__person__sub", "reengaged_48h"))
    assert outcomes == {"back": True, "gone": False}
    (row,) = recovery_rates(course_id=course.pk)
    assert (row.step, row.channel, row.sent, row.rate_48h, row.rate_7d) == (
        "absent_2",
        "email",
        2,
        0.5,
        0.5,
    )
    assert measure_outcomes(now=NOW + timedelta(days=9)) == 0  # measured once


def test_ab_results_compare_arms_with_the_holdout(course):
    experiment = Experiment.objects.create(
        course=course,
        step="absent_2",
        name="Nudge or not",
        started_at=NOW,
        holdout_share=0.5,
        arms=[{"key": "email", "channels": ["email"]}],
    )
    members = [enrol(course, f"l{n}") for n in range(40)]
    for m in members:
        act(course, m, "viewed", NOW - timedelta(days=3))
    plan_course(course_id=course.pk, now=NOW)
    arms = dict(Intervention.objects.values_list("membership_id", "arm"))
    for m in members:
        if arms[m.pk] == "email":
            act(course, m, "viewed", NOW + timedelta(hours=5))
    measure_outcomes(now=NOW + timedelta(days=8))
    results = arm_results(experiment_id=experiment.pk, metric="reengaged_48h")
    assert set(results) == {"email", "holdout"}
    n_email, back_email = results["email"]
    assert back_email == n_email > 0
    assert results["holdout"][1] == 0
    comparison = compare(
        ArmResult("email", *results["email"]), ArmResult("holdout", *results["holdout"])
    )
    assert comparison.difference == pytest.approx(1.0)


def test_instructor_message_is_sent_now_and_audited(course):
    teacher, learner = enrol(course, "t", role="instructor"), enrol(course, "l")
    message = actions.send_message_now(
        membership=learner,
        subject="Checking in",
        text="How is it going?",
        by=teacher.person,
        now=NOW,
    )
    assert message.status == "pending"
    assert message.to_address == "l@example.edu"
    assert AuditEntry.objects.filter(action="interventions.message_sent").exists()
    ContactPreference.objects.create(person=learner.person, email_opt_out=True)
    learner.person.refresh_from_db()
    with pytest.raises(actions.ActionRefused):
        actions.send_message_now(
            membership=learner, subject="x", text="y", by=teacher.person, now=NOW
        )


def test_snoozed_learner_gets_no_automated_step(course):
    teacher, learner = enrol(course, "t", role="instructor"), enrol(course, "l")
    act(course, learner, "viewed", NOW - timedelta(days=3))
    actions.snooze_learner(
        membership=learner, days=5, reason="on leave", by=teacher.person, now=NOW
    )
    assert plan_course(course_id=course.pk, now=NOW).actions == []
    assert plan_course(course_id=course.pk, now=NOW + timedelta(days=6)).actions


def test_advisor_case_loop_is_closed_and_audited(course):
    teacher, advisor, learner = (
        enrol(course, "t", role="instructor"),
        enrol(course, "adv", role="advisor"),
        enrol(course, "l"),
    )
    case = actions.assign_advisor(
        membership=learner, advisor=advisor.person, reason="struggling", by=teacher.person, now=NOW
    )
    actions.mark_contacted(
        case=case, note="Called, will catch up this week", by=advisor.person, now=NOW
    )
    with pytest.raises(actions.ActionRefused):
        actions.resolve_case(case=case, resolution=" ", by=advisor.person)
    actions.resolve_case(case=case, resolution="Back on track", by=advisor.person, now=NOW)
    case = AdvisorCase.objects.get()
    assert (case.status, case.resolution, case.notes.count()) == ("resolved", "Back on track", 1)
    assert AuditEntry.objects.filter(action__startswith="interventions.").count() == 3
    assert not OutboundMessage.objects.exists()


def test_learner_pauses_and_resumes_from_their_page(client, platform):
    from completion.models import Pause
    from tests.platform.launcher import launch, launch_token

    token = launch_token(launch(client, platform, sub="learner-1"))
    page = client.get("/messages/pause/", {}, HTTP_X_FINISHLINE_LAUNCH=token)
    assert b"Pause my course" in page.content
    bad = client.post("/messages/pause/", {"lt": token, "until": "2000-01-01", "reason": "x"})
    assert bad.status_code == 400
    from django.utils import timezone

    until = (timezone.now() + timedelta(days=10)).date().isoformat()
    paused = client.post("/messages/pause/", {"lt": token, "until": until, "reason": "family"})
    assert paused.status_code == 302
    shown = client.get(paused["Location"], HTTP_X_FINISHLINE_LAUNCH=token).content.decode()
    assert "You are paused until" in shown
    assert "Your pause is saved" in shown  # the confirmation
    assert Pause.objects.get().reason == "family"
    resumed = client.post("/messages/pause/", {"lt": token, "action": "resume"})
    shown = client.get(resumed["Location"], HTTP_X_FINISHLINE_LAUNCH=token).content.decode()
    assert "Pause my course" in shown
    assert "your pause has ended" in shown


def test_staff_cannot_use_the_learner_pause_page(client, platform):
    from tests.platform.launcher import launch, launch_token

    token = launch_token(launch(client, platform, sub="teach", role="Instructor"))
    assert client.get("/messages/pause/", {}, HTTP_X_FINISHLINE_LAUNCH=token).status_code == 403


def test_staff_see_recovery_ab_results_cases_and_todays_plan(client, platform):
    from interventions.models import Experiment
    from tests.platform.launcher import launch, launch_token

    token = launch_token(
        launch(client, platform, sub="teach", role="Instructor", context_id="course-1")
    )
    course = Membership.objects.get(person__sub="teach").course
    learner = enrol(course, "late")
    act(course, learner, "viewed", timezone.now() - timedelta(days=3))
    Experiment.objects.create(
        course=course,
        step="absent_2",
        name="Nudge test",
        started_at=NOW,
        arms=[{"key": "email", "channels": ["email"]}],
        holdout_share=0.5,
    )
    page = client.get("/messages/course/", {"preview": "1"}, HTTP_X_FINISHLINE_LAUNCH=token)
    assert page.status_code == 200
    assert b"Nudge test" in page.content
    assert b"Today&#x27;s plan" in page.content or b"Today's plan" in page.content
    assert b"absent_2" in page.content
    assert not OutboundMessage.objects.exists()  # the preview sent nothing
    learner_token = launch_token(launch(client, platform, sub="learner-x", context_id="course-1"))
    assert (
        client.get("/messages/course/", {}, HTTP_X_FINISHLINE_LAUNCH=learner_token).status_code
        == 403
    )


def test_staff_on_the_daily_digest_get_one_email_instead_of_chat_alerts(course):
    from interventions.delivery.digest import send_daily_digests

    teacher = enrol(course, "teach", role="instructor")
    ContactPreference.objects.create(
        person=teacher.person,
        daily_digest=True,
        chat_webhook_url="https://hooks.slack.com/services/x",
    )
    learner = enrol(course, "e")
    for hours in (50, 40, 3):
        act(course, learner, "failed", NOW - timedelta(hours=hours), title="Module 4 quiz")
    plan_course(course_id=course.pk, now=NOW)
    assert not OutboundMessage.objects.filter(channel="chat").exists()  # digest instead
    assert send_daily_digests(now=NOW + timedelta(hours=1)) == 1
    assert send_daily_digests(now=NOW + timedelta(hours=2)) == 1  # same day: same key, one row
    digest = OutboundMessage.objects.get(reason="digest")
    assert digest.to_address == "teach@example.edu"
    assert "Module 4 quiz" in digest.body_text


def test_todays_plan_preview_is_paged_and_sorted(client, platform):
    from tests.platform.launcher import launch, launch_token

    token = launch_token(
        launch(client, platform, sub="teach", role="Instructor", context_id="course-1")
    )
    course = Membership.objects.get(person__sub="teach").course
    for n in range(55):
        learner = enrol(course, f"late-{n:02d}")
        act(course, learner, "viewed", timezone.now() - timedelta(days=3))
    page = client.get("/messages/course/", {"preview": "1"}, HTTP_X_FINISHLINE_LAUNCH=token)
    text = page.content.decode()
    total = int(re.search(r"<p>(\d+) planned steps?", text).group(1))
    assert total >= 55
    assert "Page 1 of 2" in text
    assert 'href="?preview=1&amp;plan_sort=learner&amp;plan_page=2#plan"' in text
    names = re.findall(r"<tr><td>([^<]*)</td>", text.split('id="plan"', 1)[1])
    assert len(names) == 50
    assert names == sorted(names, key=str.lower)  # by learner, the default
    second = client.get(
        "/messages/course/", {"preview": "1", "plan_sort": "outcome", "plan_page": "2"},
        HTTP_X_FINISHLINE_LAUNCH=token,
    ).content.decode()  # fmt: skip
    assert "Page 2 of 2" in second
    assert second.split('id="plan"', 1)[1].count("<tr><td>") == total - 50
    assert not OutboundMessage.objects.exists()
