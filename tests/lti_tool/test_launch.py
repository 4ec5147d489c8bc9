"""A good launch: login, signed id_token, one recorded launch, the landing page."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from lti_tool.launch.flow import read_state
from lti_tool.models import Course, Membership, UsedNonce
from tests.lti_tool.helpers import STATE_COOKIE, post_launch
from tests.platform.launcher import landing_url, launch, launch_token, login


def test_a_learner_launch_lands_on_the_progress_page(client, platform):
    response = launch(client, platform, sub="learner-1", role="Learner")
    assert response.status_code == 200
    assert landing_url(response).startswith("/me/")
    assert b"My progress" in response.content
    assert b"Person learner-1" in response.content
    membership = Membership.objects.get(person__sub="learner-1")
    assert membership.role == "learner"
    assert membership.course.context_id == "course-1"
    assert launch_token(response)


def test_an_instructor_launch_lands_on_the_course_today_page(client, platform):
    response = launch(client, platform, sub="teacher-1", role="Instructor")
    assert landing_url(response).startswith("/course/today/")
    assert b"Today in" in response.content


def test_the_login_redirects_to_the_platform_with_state_and_nonce(client, platform):
    result = login(client, platform, lti_message_hint="hint-1")
    assert result.auth_query["redirect_uri"] == "http://127.0.0.1:8000/lti/launch/"
    assert result.auth_query["prompt"] == "none"
    assert result.auth_query["response_mode"] == "form_post"
    assert result.auth_query["lti_message_hint"] == "hint-1"
    assert client.cookies[STATE_COOKIE + result.state].value == result.state
    signed = read_state(result.state)  # nothing stored: the state carries the login
    assert signed.nonce == result.auth_query["nonce"]
    assert signed.platform_id == platform.record.pk


def test_a_login_over_post_is_accepted(client, platform):
    result = login(client, platform, method="post")
    assert result.auth_query["client_id"] == platform.client_id


def test_a_launch_consumes_its_nonce_and_clears_the_state_cookie(client, platform):
    response = post_launch(client, platform)
    assert response.status_code == 200
    nonce = UsedNonce.objects.get()
    assert nonce.platform_id == platform.record.pk
    # Kept until the token expires (exp is five minutes after iat) plus the leeway.
    assert timezone.now() + timedelta(minutes=4) < nonce.expires_at
    assert nonce.expires_at < timezone.now() + timedelta(minutes=6)
    assert any(
        name.startswith(STATE_COOKIE) and cookie["max-age"] == 0
        for name, cookie in response.cookies.items()
    )


def test_a_token_valid_for_years_keeps_its_nonce_a_day_at_most(client, platform):
    response = post_launch(client, platform, body={"exp": 2**40})
    assert response.status_code == 200
    assert UsedNonce.objects.get().expires_at < timezone.now() + timedelta(days=1, minutes=1)


def test_an_accepted_launch_writes_one_structured_log_line(client, platform, caplog):
    caplog.set_level(logging.INFO, logger="finishline.launch")
    post_launch(client, platform)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("lti_launch ")]
    assert len(lines) == 1
    assert "role=learner" in lines[0]
    assert "message=LtiResourceLinkRequest" in lines[0]


def test_a_second_launch_updates_rather_than_duplicates(client, platform):
    launch(client, platform, sub="learner-1")
    launch(client, platform, sub="learner-1")
    assert Membership.objects.count() == 1
    assert Course.objects.count() == 1
    assert UsedNonce.objects.count() == 2


def test_a_launch_is_recorded_as_an_activity(client, platform, django_capture_on_commit_callbacks):
    from completion.models import Activity

    with django_capture_on_commit_callbacks(execute=True):
        launch(client, platform, sub="learner-1")
    activity = Activity.objects.get()
    assert activity.verb == "launched"
    assert activity.person.sub == "learner-1"
    assert activity.item.external_id == "link-1"


def test_a_returning_learner_logs_in_launches_and_lands_in_at_most_eight_queries(client, platform):
    """Login, launch and the landing page it serves, for a learner seen before (issue goal).

    The test's own transaction turns the launch's BEGIN/COMMIT into savepoints: those are left
    out, as in production they are no statements of their own. The login writes nothing (its
    state is signed). On PostgreSQL the launch consumes the nonce and reads and stamps person,
    course, membership and link in one statement, appends its event in another, opens its
    session in a third, and the landing page reads progress, item states and pause in one;
    other databases go the long way, with its own bound.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    launch(client, platform, sub="learner-1")  # the first launch creates the rows
    with CaptureQueriesContext(connection) as captured:
        landing = launch(client, platform, sub="learner-1", follow=False)
    assert landing.status_code == 200
    assert b'name="finishline-launch"' in landing.content  # the landing page, no redirect
    assert b"My progress" in landing.content
    statements = [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    limit = 4 if connection.vendor == "postgresql" else 15  # the goal: at most 8
    assert len(statements) <= limit, "\n".join(s[:120] for s in statements)


def test_a_returning_learner_launch_records_what_the_lms_now_says(client, platform):
    """A later launch with a new name, course title, link title and role writes each change
    (on PostgreSQL through the one-statement path that found them unchanged before)."""
    from lti_tool.models import MembershipChange, Person, ResourceLink
    from tests.platform.server import LTI

    launch(client, platform, sub="learner-1")
    launch(client, platform, sub="learner-1")  # unchanged: nothing to write
    changed = {
        "name": "Renamed Person",
        LTI + "context": {"id": "course-1", "title": "Course, renamed"},
        LTI + "resource_link": {"id": "link-1", "title": "Progress, renamed"},
        LTI + "custom": {"department": "Sales"},
    }
    response = launch(
        client, platform, sub="learner-1", role="Instructor", body_overrides=changed, follow=False
    )
    assert response.status_code == 200
    person = Person.objects.get(sub="learner-1")
    assert (person.name, person.attributes) == ("Renamed Person", {"department": "Sales"})
    assert Course.objects.get().title == "Course, renamed"
    assert ResourceLink.objects.get().title == "Progress, renamed"
    membership = Membership.objects.get()
    assert membership.role == "instructor"
    assert MembershipChange.objects.filter(membership=membership, field="role").count() == 1
    assert UsedNonce.objects.count() == 3
