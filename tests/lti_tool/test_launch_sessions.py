"""Launch sessions: out of URLs, revocable, re-checked against the membership, sliding, bound."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone

from lti_tool.launch import sessions
from lti_tool.models import LaunchSession, Membership
from tests.platform.launcher import landing_url, launch, launch_token

HEADER = "HTTP_X_FINISHLINE_LAUNCH"


def test_no_url_carries_the_session_and_a_query_token_is_ignored(client, platform):
    response = launch(client, platform, role="Instructor")
    token = launch_token(response)
    assert response.status_code == 200  # the landing page, served by the launch itself
    assert "Location" not in response
    assert token not in landing_url(response)
    hrefs = re.findall(r'(?:href|action|src)="([^"]*)"', response.content.decode())
    assert hrefs
    assert not any(token in h or "lt=" in h for h in hrefs)
    # The old transport (?lt=) no longer opens anything: it would sit in access logs.
    assert client.get("/course/", {"lt": token}).status_code == 401
    assert client.get("/course/today/", **{HEADER: token}).status_code == 200


def test_only_a_hash_of_the_secret_is_stored(client, platform):
    token = launch_token(launch(client, platform))
    row = LaunchSession.objects.get()
    assert row.secret_hash == sessions.digest(token)
    assert token not in str(LaunchSession.objects.values().get())


def test_a_role_removed_in_the_lms_stops_the_session_at_once(client, platform):
    teacher = launch_token(launch(client, platform, sub="t", role="Instructor"))
    assert client.get("/course/today/", **{HEADER: teacher}).status_code == 200
    # The LMS now launches the same person as a learner: the instructor session is dead.
    launch(Client(), platform, sub="t", role="Learner")
    assert client.get("/course/today/", **{HEADER: teacher}).status_code == 401
    learner = launch_token(launch(client, platform, sub="l", role="Learner"))
    Membership.objects.filter(person__sub="l").update(status=Membership.Status.INACTIVE)
    assert client.get("/me/progress/", **{HEADER: learner}).status_code == 401


def test_a_revoked_session_stops_at_once(client, platform):
    token = launch_token(launch(client, platform))
    assert client.get("/me/progress/", **{HEADER: token}).status_code == 200
    membership = Membership.objects.get()
    count = sessions.revoke_sessions(
        deployment=membership.course.deployment, by="test", person_id=membership.person_id
    )
    assert count == 1
    assert client.get("/me/progress/", **{HEADER: token}).status_code == 401


def test_the_session_slides_while_used_and_ends_at_its_maximum_age(client, platform, settings):
    settings.FINISHLINE = {
        **settings.FINISHLINE,
        "LAUNCH_SESSION_IDLE": 600,
        "LAUNCH_SESSION_MAX_AGE": 1800,
    }
    token = launch_token(launch(client, platform))
    start = timezone.now()
    # Used every 8 minutes, it outlives its 10-minute idle limit...
    for minutes in (8, 16, 24):
        with time_machine.travel(start + timedelta(minutes=minutes)):
            assert client.get("/me/progress/", **{HEADER: token}).status_code == 200
    # ...but not its 30-minute maximum.
    with time_machine.travel(start + timedelta(minutes=31)):
        assert client.get("/me/progress/", **{HEADER: token}).status_code == 401
    # Left alone for longer than the idle limit, a fresh session ends.
    other = launch_token(launch(client, platform, sub="someone-else"))
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert client.get("/me/progress/", **{HEADER: other}).status_code == 401


def test_once_the_browser_cookie_came_back_the_secret_alone_is_refused(client, platform):
    response = launch(client, platform)
    token = launch_token(response)
    cookie = client.cookies["finishline-browser"].value
    assert client.cookies["finishline-browser"]["httponly"]
    assert client.get("/me/progress/", **{HEADER: token}).status_code == 200
    assert LaunchSession.objects.get().cookie_seen
    elsewhere = Client()  # another browser with the stolen secret
    assert elsewhere.get("/me/progress/", **{HEADER: token}).status_code == 401
    elsewhere.cookies["finishline-browser"] = "not-" + cookie
    assert elsewhere.get("/me/progress/", **{HEADER: token}).status_code == 401


def test_a_browser_that_keeps_no_cookie_works_with_the_secret_alone(client, platform):
    token = launch_token(launch(client, platform))
    client.cookies.clear()  # third-party cookies blocked in the LMS frame
    assert client.get("/me/progress/", **{HEADER: token}).status_code == 200
    assert client.get("/me/data/", **{HEADER: token}).status_code == 200


def test_a_download_ticket_opens_one_path_once(client, platform):
    token = launch_token(launch(client, platform))
    response = client.post(
        "/lti/ticket/", {"path": "/me/data/"}, content_type="application/json", **{HEADER: token}
    )
    ticket = response.json()["ticket"]
    assert client.get("/me/progress/", {"ticket": ticket}).status_code == 401  # another path
    response = client.post(
        "/lti/ticket/", {"path": "/me/data/"}, content_type="application/json", **{HEADER: token}
    )
    ticket = response.json()["ticket"]
    download = client.get("/me/data/", {"ticket": ticket, "format": "json"})
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert client.get("/me/data/", {"ticket": ticket, "format": "json"}).status_code == 401
    elsewhere = client.post(
        "/lti/ticket/",
        {"path": "//evil.example/"},
        content_type="application/json",
        **{HEADER: token},
    )
    assert elsewhere.status_code == 400


def test_pages_of_a_launch_are_never_stored_by_caches(client, platform):
    token = launch_token(launch(client, platform))
    assert client.get("/me/progress/", **{HEADER: token})["Cache-Control"] == "no-store"


def test_an_admin_ends_a_persons_sessions_from_the_command_line(client, platform):
    from io import StringIO

    from django.core.management import call_command

    mine = launch_token(launch(client, platform, sub="ada"))
    theirs = launch_token(launch(client, platform, sub="bob"))
    out = StringIO()
    call_command("revoke_launch_sessions", deployment=platform.deployment_id, sub="ada", stdout=out)
    assert out.getvalue().strip() == "1 open session(s) ended."
    assert client.get("/me/progress/", **{HEADER: mine}).status_code == 401
    assert Client().get("/me/progress/", **{HEADER: theirs}).status_code == 200
