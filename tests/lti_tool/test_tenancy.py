"""Role landing, tenant isolation through the pages and API, the launch token, and framing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from lti_tool.models import Course, Membership, Platform
from lti_tool.services import register_platform
from tests.lti_tool.helpers import post_launch
from tests.platform.launcher import landing_url, launch, launch_token
from tests.platform.server import LTI, TestPlatform

INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"


@pytest.fixture
def other_platform(db):
    """A second registered platform (tenant Y) on its own live server."""
    with TestPlatform(client_id="other-client", deployment_id="dep-y") as other:
        other.record = register_platform(
            issuer=other.issuer,
            client_id=other.client_id,
            auth_login_url=other.auth_login_url,
            auth_token_url=other.token_url,
            jwks_url=other.jwks_url,
            deployment_ids=[other.deployment_id],
            actor="test",
        )
        yield other


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        ("Instructor", "/course/"),
        ("Learner", "/me/"),
        (INSTITUTION + "Administrator", "/institution/"),
        (
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
            "/course/",
        ),
        ("TeachingAssistant", "/course/"),
        ("Mentor", "/course/"),
        (INSTITUTION + "Student", "/me/"),
    ],
)
def test_each_role_lands_on_its_page(client, platform, role, landing):
    response = launch(client, platform, role=role)
    assert response.status_code == 200
    assert landing_url(response).startswith(landing)


def test_an_administrator_may_launch_outside_a_course(client, platform):
    response = launch(client, platform, role=INSTITUTION + "Administrator", context_id="")
    assert landing_url(response).startswith("/institution/")
    assert b"Installation status" in response.content


def test_a_data_privacy_request_lands_on_the_persons_own_page(client, platform):
    response = post_launch(
        client,
        platform,
        body={LTI + "message_type": "DataPrivacyLaunchRequest"},
        drop=(LTI + "resource_link", LTI + "context"),
    )
    assert response.status_code == 200
    assert landing_url(response) == "/me/?privacy=1"
    assert b"data request" in response.content


def test_a_learner_cannot_open_the_instructor_dashboard(client, platform):
    token = launch_token(launch(client, platform, role="Learner"))
    assert client.get("/course/", {}, HTTP_X_FINISHLINE_LAUNCH=token).status_code == 403
    assert client.get("/course/risk/", {}, HTTP_X_FINISHLINE_LAUNCH=token).status_code == 403
    assert client.get("/institution/", {}, HTTP_X_FINISHLINE_LAUNCH=token).status_code == 403


def test_an_instructor_cannot_open_the_institution_page(client, platform):
    token = launch_token(launch(client, platform, role="Instructor"))
    assert client.get("/institution/", {}, HTTP_X_FINISHLINE_LAUNCH=token).status_code == 403


@pytest.mark.parametrize("token", [None, "", "forged.token.value", "e30:1tX:abc"])
def test_a_missing_or_forged_launch_token_gets_the_please_launch_page(client, platform, token):
    headers = {"HTTP_X_FINISHLINE_LAUNCH": token} if token is not None else {}
    response = client.get("/me/", **headers)
    assert response.status_code == 401
    assert b"Please open Finishline from your course" in response.content


def test_a_launch_token_past_its_age_gets_the_please_launch_page(client, platform, settings):
    token = launch_token(launch(client, platform))
    assert client.get("/me/progress/", {}, HTTP_X_FINISHLINE_LAUNCH=token).status_code == 200
    later = timezone.now() + timedelta(seconds=settings.FINISHLINE["LAUNCH_SESSION_IDLE"] + 60)
    with time_machine.travel(later):
        assert client.get("/me/progress/", {}, HTTP_X_FINISHLINE_LAUNCH=token).status_code == 401


def test_a_launch_secret_altered_by_one_character_is_refused(client, platform):
    token = launch_token(launch(client, platform, role="Instructor", context_id="course-a"))
    assert client.get("/course/today/", HTTP_X_FINISHLINE_LAUNCH=token).status_code == 200
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get("/course/today/", HTTP_X_FINISHLINE_LAUNCH=altered).status_code == 401


def test_a_course_a_token_gets_404_on_course_b_pages_and_api(client, platform):
    token_a = launch_token(
        launch(client, platform, sub="teacher-a", role="Instructor", context_id="course-a")
    )
    launch(client, platform, sub="bob", role="Learner", context_id="course-b")
    course_b = Course.objects.get(context_id="course-b")
    bob_in_b = Membership.objects.get(course=course_b)
    header = {"HTTP_X_FINISHLINE_LAUNCH": token_a}
    assert client.get(f"/api/risk/courses/{course_b.pk}/", **header).status_code == 404
    assert client.get(f"/api/risk/learners/{bob_in_b.pk}/", **header).status_code == 404
    assert client.get(f"/api/risk/learners/{bob_in_b.pk}/history/", **header).status_code == 404
    override = f"/course/learners/{bob_in_b.pk}/status/"
    assert client.get(override, {}, HTTP_X_FINISHLINE_LAUNCH=token_a).status_code == 404
    # Its own course answers, so the 404s above are about scope, not a broken endpoint.
    course_a = Course.objects.get(context_id="course-a")
    assert client.get(f"/api/risk/courses/{course_a.pk}/", **header).status_code == 200


def test_a_learner_of_course_a_cannot_read_a_learner_of_course_b(client, platform):
    token_amy = launch_token(launch(client, platform, sub="amy", context_id="course-a"))
    launch(client, platform, sub="bob", context_id="course-b")
    bob_in_b = Membership.objects.get(person__sub="bob")
    header = {"HTTP_X_FINISHLINE_LAUNCH": token_amy}
    assert client.get(f"/api/risk/learners/{bob_in_b.pk}/", **header).status_code == 404
    amy_in_a = Membership.objects.get(person__sub="amy")
    assert client.get(f"/api/risk/learners/{amy_in_a.pk}/history/", **header).status_code == 200


def test_a_learner_cannot_read_a_classmate(client, platform):
    token_amy = launch_token(launch(client, platform, sub="amy", context_id="course-a"))
    launch(client, platform, sub="cid", context_id="course-a")
    cid = Membership.objects.get(person__sub="cid")
    header = {"HTTP_X_FINISHLINE_LAUNCH": token_amy}
    assert client.get(f"/api/risk/learners/{cid.pk}/history/", **header).status_code == 404


def test_deployment_x_cannot_see_deployment_y(client, platform, other_platform):
    token_x = launch_token(launch(client, platform, role="Instructor", context_id="same-id"))
    admin_x = launch_token(
        launch(client, platform, sub="admin-x", role=INSTITUTION + "Administrator", context_id="")
    )
    launch(client, other_platform, sub="y-learner", context_id="same-id")
    course_y = Course.objects.get(deployment__deployment_id="dep-y")
    learner_y = Membership.objects.get(course=course_y)
    for token in (token_x, admin_x):
        header = {"HTTP_X_FINISHLINE_LAUNCH": token}
        assert client.get(f"/api/risk/courses/{course_y.pk}/", **header).status_code == 404
        assert client.get(f"/api/risk/learners/{learner_y.pk}/", **header).status_code == 404
    # The institution page of X lists X's platform only.
    page = client.get("/institution/", {}, HTTP_X_FINISHLINE_LAUNCH=admin_x)
    assert page.status_code == 200
    assert [p.pk for p in page.context["platforms"]] == [platform.record.pk]
    assert b"dep-y" not in page.content


def test_the_same_sub_on_two_deployments_is_two_people(client, platform, other_platform):
    launch(client, platform, sub="same-sub")
    launch(client, other_platform, sub="same-sub")
    assert Membership.objects.filter(person__sub="same-sub").count() == 2
    assert len({m.person.deployment_id for m in Membership.objects.all()}) == 2


def test_frame_ancestors_lists_the_launch_platform_and_not_others(client, platform, other_platform):
    response = launch(client, platform)
    csp = response["Content-Security-Policy"].split("; ")
    assert csp[-1].startswith("frame-ancestors 'self'")
    assert platform.base_url in csp[-1]
    csp = "; ".join(csp)
    assert other_platform.base_url not in csp  # a page of X is not framed by Y
    assert "evil.example" not in csp
    assert "X-Frame-Options" not in response


def test_pages_without_a_launch_may_be_framed_by_active_platforms_only(
    client, platform, other_platform
):
    Platform.objects.filter(pk=other_platform.record.pk).update(status=Platform.Status.PENDING)
    response = client.get("/lti/login/", {"iss": "https://unknown.example", "login_hint": "x"})
    csp = response["Content-Security-Policy"]
    assert platform.base_url in csp
    assert other_platform.base_url not in csp
    assert "X-Frame-Options" not in response


def test_the_lms_page_named_by_the_signed_launch_may_frame_it(client, platform):
    presentation = {"return_url": "https://school.example.edu/courses/1/done", "locale": "en"}
    response = launch(client, platform, body_overrides={LTI + "launch_presentation": presentation})
    assert "https://school.example.edu" in response["Content-Security-Policy"]


def test_a_malformed_origin_never_reaches_the_header(client, platform):
    presentation = {"return_url": "https://a.example;script-src *"}
    response = launch(client, platform, body_overrides={LTI + "launch_presentation": presentation})
    assert "script-src *" not in response["Content-Security-Policy"]
    assert "a.example" not in response["Content-Security-Policy"]


def test_canvas_cloud_school_hosts_may_frame_the_tool(client, db):
    register_platform(
        issuer="https://canvas.instructure.com",
        client_id="10000000000001",
        auth_login_url="https://sso.canvaslms.com/api/lti/authorize_redirect",
        auth_token_url="https://sso.canvaslms.com/login/oauth2/token",
        jwks_url="https://sso.canvaslms.com/api/lti/security/jwks",
        deployment_ids=["1:abc"],
        actor="test",
        product=Platform.Product.CANVAS,
    )
    csp = client.get("/lti/jwks/")["Content-Security-Policy"]
    assert "https://*.instructure.com" in csp
    assert "https://sso.canvaslms.com" in csp


def test_the_django_admin_is_framed_by_no_platform(client, platform):
    response = client.get("/django-admin/login/")
    assert response["Content-Security-Policy"].endswith("; frame-ancestors 'self'")
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_the_state_cookie_is_samesite_none_secure_and_httponly_over_https(
    client, platform, settings
):
    settings.COOKIES_CROSS_SITE = True
    response = client.get(
        "/lti/login/", {"iss": platform.issuer, "login_hint": "x", "client_id": platform.client_id}
    )
    cookie = next(c for name, c in response.cookies.items() if name.startswith("lti1p3-state-"))
    # Partitioned (CHIPS): kept even where third-party cookies are blocked.
    assert cookie["samesite"] == "None; Partitioned"
    assert cookie["secure"]
    assert cookie["httponly"]
