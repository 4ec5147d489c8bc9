from __future__ import annotations

from datetime import timedelta

from django.test import Client

from completion.models import Pause, RiskScore
from completion.risk.signals import SignalResult, fired_mask, to_stored
from interventions.models import (
    AdvisorCase,
    ContactPreference,
    CourseSupport,
    Experiment,
    Intervention,
    OutboundMessage,
)
from interventions.planning.planner import plan_course
from lti_tool.models import Membership
from tests.helpers import token_for
from tests.interventions.helpers import NOW, act, enrol


def test_absent_learner_gets_the_most_advanced_absence_step_once(course):
    m = enrol(course, "a")
    act(course, m, "viewed", NOW - timedelta(days=5))
    summary = plan_course(course_id=course.pk, now=NOW)
    steps = {a.step: (a.status, a.detail) for a in summary.actions}
    assert steps["absent_2"][0] == "superseded"
    # Day 4 is email and SMS; SMS needs an opt-in, so only the email goes.
    assert steps["absent_4"] == ("sent", "now")
    assert Intervention.objects.get(step="absent_4").channels == ["email"]
    assert OutboundMessage.objects.get().reason == "playbook:absent_4"
    assert plan_course(course_id=course.pk, now=NOW).actions == []  # nothing twice


def test_email_step_is_queued_personalised_and_throttled(course):
    m = enrol(course, "b", name="Bea Learner")
    act(course, m, "viewed", NOW - timedelta(days=2, hours=1))
    plan_course(course_id=course.pk, now=NOW)
    message = OutboundMessage.objects.get()
    assert message.to_address == "b@example.edu"
    assert "Bea" in message.body_text
    assert "Safety 101" in message.subject
    assert message.reason == "playbook:absent_2"
    # Two days later the learner is still away: absent_4 is due but SMS is not opted in,
    # and 48 h have passed so email steps could go again.
    ContactPreference.objects.create(
        person=m.person, phone="+15550001", sms_opt_in=True, phone_verified_at=NOW
    )
    plan_course(course_id=course.pk, now=NOW + timedelta(days=2))
    sms = OutboundMessage.objects.get(channel="sms")
    assert sms.decided_by.startswith("SMS opt-in with a verified number")


def test_second_learner_facing_message_within_48_hours_waits(course):
    m = enrol(course, "c")
    act(course, m, "failed", NOW - timedelta(hours=30))
    plan_course(course_id=course.pk, now=NOW - timedelta(hours=29))  # encouragement after failure
    act(course, m, "failed", NOW - timedelta(hours=2))
    summary = plan_course(course_id=course.pk, now=NOW)
    (action,) = [a for a in summary.actions if a.step == "failed_2"]
    assert action.status == "scheduled"
    assert action.send_at == NOW - timedelta(hours=29) + timedelta(hours=48)


def test_paused_learner_gets_nothing(course):
    m = enrol(course, "d")
    act(course, m, "viewed", NOW - timedelta(days=9))
    Pause.objects.create(
        membership=m,
        starts_on=NOW.date() - timedelta(days=8),
        until=NOW.date() + timedelta(days=3),
        reason="surgery",
    )
    assert plan_course(course_id=course.pk, now=NOW).actions == []


def test_third_failure_alerts_the_instructor_with_a_case(course):
    instructor = enrol(course, "teach", role="instructor")
    m = enrol(course, "e")
    for hours in (50, 40, 3):
        act(course, m, "failed", NOW - timedelta(hours=hours), title="Module 4 quiz")
    plan_course(course_id=course.pk, now=NOW)
    case = AdvisorCase.objects.get()
    assert case.owner == instructor.person
    assert "Module 4 quiz" in case.reason
    assert case.due_at == NOW + timedelta(days=2)


def test_dry_run_writes_nothing_but_shows_the_plan(course):
    m = enrol(course, "f")
    act(course, m, "viewed", NOW - timedelta(days=3))
    summary = plan_course(course_id=course.pk, now=NOW, dry_run=True)
    assert [a.step for a in summary.actions] == ["absent_2"]
    assert not Intervention.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_ab_test_assigns_arms_deterministically_and_holds_out(course):
    Experiment.objects.create(
        course=course,
        step="absent_2",
        name="Channel test",
        started_at=NOW,
        arms=[{"key": "email", "channels": ["email"]}],
        holdout_share=1.0,
    )
    m = enrol(course, "g")
    act(course, m, "viewed", NOW - timedelta(days=3))
    (action,) = plan_course(course_id=course.pk, now=NOW).actions
    assert action.status == "holdout"
    assert not OutboundMessage.objects.exists()


def test_new_learner_gets_welcome_then_start_here_if_not_started(course):
    enrol(course, "h", days_ago=0)
    Membership.objects.update(enrolled_at=NOW)
    assert [a.step for a in plan_course(course_id=course.pk, now=NOW).actions] == ["welcome"]
    later = plan_course(course_id=course.pk, now=NOW + timedelta(hours=50)).actions
    steps = {a.step: a.status for a in later}
    assert steps["onboarding_advisor"] == "sent"  # staff escalation is not throttled
    assert steps["start_here"] == "superseded" or steps.get("welcome_reminder") == "superseded"


def test_paused_learner_is_welcomed_back_on_the_return_date_and_not_before(course):
    from interventions.learners.pausing import pause_learner

    m = enrol(course, "p")
    act(course, m, "viewed", NOW - timedelta(days=1))
    pause_learner(
        membership=m,
        until=NOW.date() + timedelta(days=5),
        reason="exams",
        by="learner",
        today=NOW.date(),
    )
    assert plan_course(course_id=course.pk, now=NOW + timedelta(days=3)).actions == []
    back = plan_course(course_id=course.pk, now=NOW + timedelta(days=6)).actions
    assert [a.step for a in back] == ["welcome_back"]
    assert "welcome back" in OutboundMessage.objects.get().body_text.lower()


def test_the_absence_email_says_how_many_minutes_from_finishing_where_they_stopped(course):
    from completion.models import Activity, Item

    module = Item.objects.create(
        course=course,
        external_id="https://lms.example/m4",
        kind="page",
        title="Module 4",
        source="api",
        position=4,
    )
    learner = enrol(course, "b", name="Bea Learner")

    def spend(m, minutes, verb, at, n):
        Activity.objects.create(
            course=course,
            person_id=m.person_id,
            item=module,
            verb=verb,
            occurred_at=at,
            received_at=at,
            duration_seconds=minutes * 60,
            source="api",
            source_id=f"{m.pk}-{n}",
        )

    for k in range(3):  # peers take 40 minutes over Module 4
        peer = enrol(course, f"peer{k}")
        spend(peer, 40, "completed", NOW - timedelta(days=1), k)
    spend(learner, 25, "viewed", NOW - timedelta(days=2, hours=1), 99)
    plan_course(course_id=course.pk, now=NOW)
    message = OutboundMessage.objects.get(membership__person__sub="b")
    assert "15 minutes from finishing Module 4" in message.body_text
    # The link back to Module 4, tracked: it leads there once the click is counted.
    assert message.click_target == "https://lms.example/m4"
    assert f"/m/{message.click_token}/" in message.body_text


def test_the_planner_reads_each_learners_latest_progress_up_to_today(course):
    from completion.models import Progress
    from interventions.planning.day_facts import latest_progress

    def row(membership, days_ago, percent):
        Progress.objects.create(
            membership=membership,
            course=course,
            as_of=(NOW - timedelta(days=days_ago)).date(),
            status="in_progress",
            status_label="In progress",
            percent_complete=percent,
            items_done=0,
            items_total=10,
            time_on_task_seconds=0,
            expected_percent=50,
            gap=0,
            computed_at=NOW,
        )

    scored_daily, scored_once = enrol(course, "daily"), enrol(course, "once")
    row(scored_daily, 2, 20)
    row(scored_daily, 1, 30)
    row(scored_daily, -1, 99)  # a row dated tomorrow is not today's progress
    row(scored_once, 5, 10)
    latest = latest_progress(course, NOW.date())
    assert {m: p.percent_complete for m, p in latest.items()} == {
        scored_daily.pk: 30,
        scored_once.pk: 10,
    }


def scored(m, day, fired):
    signals = [SignalResult("technical_errors", 1.0, 1.0, fired, "1 technical error")]
    RiskScore.objects.create(
        membership=m, course=m.course, as_of=day, tier="yellow", probability=0.6,
        signals=to_stored(signals), fired_signals=fired_mask(signals), model_used="rules",
        computed_at=NOW,
    )  # fmt: skip


def test_signal_steps_date_from_the_first_day_the_signal_fired(course):
    m = enrol(course, "t")
    act(course, m, "viewed", NOW - timedelta(hours=3))  # present: no absence steps
    for days_ago, fired in ((3, True), (2, False), (1, True), (0, True)):
        scored(m, (NOW - timedelta(days=days_ago)).date(), fired)
    summary = plan_course(course_id=course.pk, now=NOW)
    first = (NOW - timedelta(days=3)).date()
    episodes = {a.step: Intervention.objects.get(step=a.step).episode for a in summary.actions}
    # The guide goes when the signal fires, the ticket 24 h after: both are due, as one episode
    # that began on the first day of the 14 before today the signal fired (gaps included).
    assert episodes["tech_guide"] == episodes["tech_ticket"] == f"technical_errors-{first:%Y-%m-%d}"


def test_signal_steps_read_the_latest_scored_day_even_when_nothing_fired_on_it(course):
    m = enrol(course, "u")
    act(course, m, "viewed", NOW - timedelta(hours=3))
    scored(m, (NOW - timedelta(days=1)).date(), True)
    scored(m, NOW.date(), False)  # the errors stopped: no step for yesterday's signal
    steps = {a.step for a in plan_course(course_id=course.pk, now=NOW).actions}
    assert not steps & {"tech_guide", "tech_ticket"}


def test_no_response_to_a_step_escalates_after_its_window_in_the_same_episode(course):
    m = enrol(course, "e", name="Eve")
    enrol(course, "adv", role="advisor", name="Alan Advisor")
    for days_ago in (12, 9, 6):  # visits every 3 days; 6 days away = 2 missed visits
        act(course, m, "viewed", NOW - timedelta(days=days_ago, hours=1))
    plan_course(course_id=course.pk, now=NOW)  # missed 2 visits: the email
    assert Intervention.objects.get(membership=m).step == "absent_2"
    # 47 hours later nothing came back, but the window (48 h) is not over.
    early = plan_course(course_id=course.pk, now=NOW + timedelta(hours=47))
    assert [a.step for a in early.actions] == []
    late = plan_course(course_id=course.pk, now=NOW + timedelta(hours=49))
    (escalated,) = [a for a in late.actions if a.step == "absent_4"]
    assert escalated.detail.startswith("no return visit, click or reply within 48 h of absent_2")
    # absent_4 (tier 2) goes unanswered for 72 h: the advisor step, absent_10, is due.
    plan_course(course_id=course.pk, now=NOW + timedelta(hours=49 + 73))
    case = AdvisorCase.objects.get(membership=m)
    advisor_step = Intervention.objects.get(membership=m, step="absent_10")
    assert advisor_step.case_id == case.pk
    assert "no return visit, click or reply within 72 h of absent_4" in advisor_step.detail


def test_a_return_visit_answers_the_step_and_nothing_escalates(course):
    m = enrol(course, "f")
    act(course, m, "viewed", NOW - timedelta(days=2, hours=1))
    plan_course(course_id=course.pk, now=NOW)
    act(course, m, "viewed", NOW + timedelta(hours=5))
    later = plan_course(course_id=course.pk, now=NOW + timedelta(hours=50))
    assert [a.step for a in later.actions] == []


def test_missed_visits_count_at_the_learners_own_cadence(course):
    m = enrol(course, "g")
    for days_ago in (16, 12, 8, 4):  # visits every 4 days
        act(course, m, "viewed", NOW - timedelta(days=days_ago))
    # 4 days away is one missed visit for this learner, not two.
    assert plan_course(course_id=course.pk, now=NOW + timedelta(hours=1)).actions == []
    due = plan_course(course_id=course.pk, now=NOW + timedelta(days=4, hours=1)).actions
    assert [a.step for a in due] == ["absent_2"]


def test_a_programme_preset_sets_absence_thresholds_and_response_windows(course):
    teacher = enrol(course, "teach", role="instructor")
    page = Client().post("/messages/course/help/", {
        "lt": token_for(teacher, "instructor"), "booking_url": "", "program": "compliance",
    })  # fmt: skip
    assert page.status_code == 200
    m = enrol(course, "h")
    for days_ago in (12, 9, 6):  # every 3 days; 6 days away = 2 missed visits
        act(course, m, "viewed", NOW - timedelta(days=days_ago, hours=1))
    plan_course(course_id=course.pk, now=NOW)
    # Compliance halves the 48-hour window: silence escalates after 24 hours.
    later = plan_course(course_id=course.pk, now=NOW + timedelta(hours=25)).actions
    assert [a.step for a in later] == ["absent_4"]
    assert later[0].detail.startswith("no return visit, click or reply within 24 h of absent_2")


def test_a_self_paced_programme_waits_longer_before_calling_it_absence(course):
    CourseSupport.objects.create(course=course, program="self_paced")
    m = enrol(course, "i")
    act(course, m, "viewed", NOW - timedelta(days=2, hours=1))
    assert plan_course(course_id=course.pk, now=NOW).actions == []  # 2 x 1.5 = 3 days
    due = plan_course(course_id=course.pk, now=NOW + timedelta(days=1)).actions
    assert [a.step for a in due] == ["absent_2"]
