from __future__ import annotations

from lti_tool.models import Course, Membership, Person, UsedNonce
from tests.platform.launcher import launch, launch_token, login


def test_learner_launch_lands_on_progress_page(client, platform):
    response = launch(client, platform, sub="learner-1", role="Learner")
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/me/")
    assert b"My progress" in response.content
    assert b"Person learner-1" in response.content
    membership = Membership.objects.get(person__sub="learner-1")
    assert membership.role == "learner"
    assert membership.course.context_id == "course-1"
    assert launch_token(response)


def test_instructor_launch_lands_on_course_dashboard(client, platform):
    response = launch(client, platform, sub="teacher-1", role="Instructor")
    assert response.redirect_chain[-1][0].startswith("/course/")
    assert b"Course dashboard" in response.content


def test_replayed_nonce_is_rejected(client, platform):
    result = login(client, platform)
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce=result.nonce))
    first = client.post("/lti/launch/", {"id_token": token, "state": result.state})
    assert first.status_code == 302
    people = Person.objects.count()
    # The attacker replays the captured POST with the browser's state cookie as well.
    client.cookies["lti1p3-state-" + result.state] = result.state
    second = client.post("/lti/launch/", {"id_token": token, "state": result.state})
    assert second.status_code == 400
    assert second.context["code"] == "replay"
    assert UsedNonce.objects.count() == 1
    assert Person.objects.count() == people


def test_login_over_post_is_accepted(client, platform):
    result = login(client, platform, method="post")
    assert result.auth_query["redirect_uri"] == "http://127.0.0.1:8000/lti/launch/"
    assert result.auth_query["prompt"] == "none"


def test_rejected_launch_writes_nothing(client, platform):
    response = launch(
        client,
        platform,
        body_overrides={"aud": "someone-else", "azp": "someone-else"},
        follow=False,
    )
    assert response.status_code == 400
    assert not Course.objects.exists()
    assert not Person.objects.exists()
    assert not UsedNonce.objects.exists()


def test_launch_is_recorded_as_an_activity(client, platform, django_capture_on_commit_callbacks):
    from completion.models import Activity

    with django_capture_on_commit_callbacks(execute=True):
        launch(client, platform, sub="learner-1")
    activity = Activity.objects.get()
    assert activity.verb == "launched"
    assert activity.person.sub == "learner-1"
    assert activity.item.external_id == "link-1"
