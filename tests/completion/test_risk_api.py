from __future__ import annotations

import pytest
from django.test import Client

from completion.models import Item, Progress, StatusOverride
from completion.risk.scoring import score_course, today
from lti_tool.models import AuditEntry, Course, Membership
from tests.completion.riskdata import add
from tests.platform.launcher import launch, launch_token


def token_for(client, platform, sub, role):
    return launch_token(launch(client, platform, sub=sub, role=role))


@pytest.fixture
def scored(platform, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        teacher = token_for(client, platform, "teacher-1", "Instructor")
        alice = token_for(client, platform, "alice", "Learner")
        bob = token_for(client, platform, "bob", "Learner")
    course = Course.objects.get(context_id="course-1")
    quiz = Item.objects.create(
        course=course, external_id="quiz", kind="assessment", title="Module 4 quiz", source="api"
    )
    members = {m.person.sub: m for m in Membership.objects.filter(course=course)}
    for at in ("failed", "failed"):
        add(course, members["bob"], at, members["bob"].enrolled_at, item=quiz, score=0.2)
    score_course(course.pk, as_of=today())
    return {
        "client": client,
        "course": course,
        "teacher": teacher,
        "alice": alice,
        "bob": bob,
        "members": members,
    }


def get(s, url, token):
    return s["client"].get(url, HTTP_X_FINISHLINE_LAUNCH=token)


def test_an_instructor_lists_every_learner_with_tier_probability_and_reasons(scored):
    response = get(scored, f"/api/risk/courses/{scored['course'].pk}/", scored["teacher"])
    assert response.status_code == 200
    learners = {row["name"]: row for row in response.json()["learners"]}
    assert set(learners) == {"Person alice", "Person bob"}
    bob = learners["Person bob"]
    assert "failed Module 4 quiz twice" in bob["reasons"]
    assert bob["tier"] in {"red", "yellow", "green"}
    assert 0 <= bob["probability"] <= 1
    assert bob["status_label"] == "In progress"


def test_a_learner_sees_only_their_own_risk(scored):
    alice = scored["members"]["alice"]
    bob = scored["members"]["bob"]
    own = get(scored, f"/api/risk/learners/{alice.pk}/", scored["alice"])
    assert own.status_code == 200
    assert own.json()["membership_id"] == alice.pk
    assert {s["code"] for s in own.json()["signals"]} >= {"missed_visits_2", "behind_pace_20"}
    theirs = get(scored, f"/api/risk/learners/{bob.pk}/", scored["bob"]).json()
    fired = {f["code"]: f["reason"] for f in theirs["fired"]}
    assert set(fired) == {s["code"] for s in theirs["signals"] if s["fired"]}
    assert fired["failed_twice"] == "failed Module 4 quiz twice"
    assert get(scored, f"/api/risk/learners/{bob.pk}/", scored["alice"]).status_code == 404
    assert (
        get(scored, f"/api/risk/courses/{scored['course'].pk}/", scored["alice"]).status_code == 403
    )


def test_the_api_needs_a_launch_token(scored):
    response = scored["client"].get(f"/api/risk/courses/{scored['course'].pk}/")
    assert response.status_code == 401
    forged = get(scored, f"/api/risk/courses/{scored['course'].pk}/", "not-a-token")
    assert forged.status_code == 401


def test_history_lists_each_scored_day(scored):
    bob = scored["members"]["bob"]
    response = get(scored, f"/api/risk/learners/{bob.pk}/history/", scored["teacher"])
    assert response.status_code == 200
    history = response.json()["history"]
    assert [h["as_of"] for h in history] == [today().isoformat()]
    assert (
        get(scored, f"/api/risk/learners/{bob.pk}/history/?days=x", scored["teacher"]).status_code
        == 400
    )


def test_the_dashboard_shows_reasons_to_the_instructor(scored):
    response = scored["client"].get("/course/risk/", HTTP_X_FINISHLINE_LAUNCH=scored["teacher"])
    assert response.status_code == 200
    assert b"failed Module 4 quiz twice" in response.content
    learner = scored["client"].get("/course/risk/", HTTP_X_FINISHLINE_LAUNCH=scored["alice"])
    assert learner.status_code == 403


def test_an_instructor_saves_criteria_with_course_labels(
    scored, django_capture_on_commit_callbacks
):
    page = scored["client"].get("/course/criteria/", HTTP_X_FINISHLINE_LAUNCH=scored["teacher"])
    assert page.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = scored["client"].post(
            "/course/criteria/",
            {
                "lt": scored["teacher"],
                "min_content_share": "80",
                "min_time_minutes": "0",
                "timeline": "relative",
                "duration_days": "20",
                "skip_weekends": "on",
                "risk_model": "rules",
                "label_completed": "Compliant",
                "label_overdue": "Renewal Required",
                "due_days_after_enrolment": "30",
                "anchors": "2026-03-10 50 Live workshop",
                "threshold_behind_pace_20": "25",
            },
        )
    assert response.status_code == 302, response.content[:2000]
    assert response["Location"].endswith("?done=criteria")
    criteria = scored["course"].criteria
    assert criteria.status_labels == {"completed": "Compliant", "overdue": "Renewal Required"}
    assert criteria.anchors == [{"on": "2026-03-10", "share": 0.5, "label": "Live workshop"}]
    assert criteria.rule_settings == {"thresholds": {"behind_pace_20": 0.25}}
    assert AuditEntry.objects.filter(action="completion.criteria_updated").exists()


def test_bad_rule_settings_are_refused_with_a_reason(scored):
    response = scored["client"].post(
        "/course/criteria/",
        {
            "lt": scored["teacher"],
            "min_content_share": "80",
            "min_time_minutes": "0",
            "timeline": "relative",
            "duration_days": "20",
            "risk_model": "rules",
            "rule_settings": '{"weights": {"no_such_signal": 1}}',
        },
    )
    assert response.status_code == 400
    assert "unknown signal in weights: no_such_signal" in response.content.decode()


def test_an_instructor_overrides_a_status_with_a_reason(scored, django_capture_on_commit_callbacks):
    bob = scored["members"]["bob"]
    with django_capture_on_commit_callbacks(execute=True):
        response = scored["client"].post(
            f"/course/learners/{bob.pk}/status/",
            {"lt": scored["teacher"], "status": "completed", "reason": "Signed paper record"},
        )
    assert response.status_code == 302
    assert StatusOverride.objects.get(membership=bob).reason == "Signed paper record"
    assert Progress.objects.get(membership=bob, as_of=today()).status == "completed"
    assert AuditEntry.objects.filter(action="completion.status_overridden").exists()
    learner = scored["client"].post(
        f"/course/learners/{bob.pk}/status/",
        {"lt": scored["alice"], "status": "completed", "reason": "me"},
    )
    assert learner.status_code == 403
