"""Role landing, cross-tenant isolation, framing, deep linking and key rotation."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.core.management import call_command

from lti_tool.models import AuditEntry, Course, Membership, ToolKey
from lti_tool.services import register_platform
from tests.platform.launcher import launch, launch_token, login
from tests.platform.server import LTI, TestPlatform


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        ("Instructor", "/course/"),
        ("Learner", "/me/"),
        (
            "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
            "/institution/",
        ),
        (
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
            "/course/",
        ),
        ("Mentor", "/course/"),
    ],
)
def test_each_role_lands_on_its_page(client, platform, role, landing):
    response = launch(client, platform, role=role)
    assert response.redirect_chain[-1][0].startswith(landing)


def test_learner_cannot_open_the_instructor_dashboard(client, platform):
    token = launch_token(launch(client, platform, role="Learner"))
    assert client.get("/course/", {"lt": token}).status_code == 403


def test_forged_or_missing_launch_token_gets_the_please_launch_page(client, platform):
    assert client.get("/me/").status_code == 401
    assert client.get("/me/", {"lt": "forged.token.value"}).status_code == 401


def test_a_learner_of_course_a_cannot_read_course_b(client, platform):
    from lti_tool.context import LaunchContext
    from lti_tool.selectors import access_course, access_membership

    token_a = launch_token(launch(client, platform, sub="amy", context_id="course-a"))
    launch(client, platform, sub="bob", context_id="course-b")
    context = LaunchContext.from_token(token_a)
    course_b = Course.objects.get(context_id="course-b")
    bob_in_b = Membership.objects.get(course=course_b)
    from django.http import Http404

    with pytest.raises(Http404):
        access_course(context, course_b.pk)
    with pytest.raises(Http404):
        access_membership(context, bob_in_b.pk)


def test_deployment_x_cannot_see_deployment_y(client, platform):
    from django.http import Http404

    from lti_tool.context import LaunchContext
    from lti_tool.selectors import access_course, access_membership, courses_for

    with TestPlatform(client_id="other-client", deployment_id="dep-y") as other:
        register_platform(
            issuer=other.issuer,
            client_id=other.client_id,
            auth_login_url=other.auth_login_url,
            auth_token_url=other.token_url,
            jwks_url=other.jwks_url,
            deployment_ids=[other.deployment_id],
            actor="test",
        )
        token_x = launch_token(launch(client, platform, role="Instructor", context_id="same-id"))
        launch(client, other, sub="y-learner", context_id="same-id")
    x = LaunchContext.from_token(token_x)
    course_y = Course.objects.get(deployment__deployment_id="dep-y")
    assert list(courses_for(x)) == [Course.objects.get(pk=x.course_id)]
    with pytest.raises(Http404):
        access_course(x, course_y.pk)
    with pytest.raises(Http404):
        access_membership(x, Membership.objects.get(course=course_y).pk)
    admin = LaunchContext(**{**x.__dict__, "role": "admin"})
    with pytest.raises(Http404):
        access_course(admin, course_y.pk)


def test_frame_ancestors_lists_registered_platforms_only(client, platform):
    response = launch(client, platform)
    csp = response["Content-Security-Policy"]
    assert csp.startswith("frame-ancestors 'self'")
    assert platform.base_url in csp
    assert "evil.example" not in csp
    assert "X-Frame-Options" not in response


def test_state_cookie_is_samesite_none_and_secure_on_https(client, platform, settings):
    settings.COOKIES_CROSS_SITE = True
    response = client.get(
        "/lti/login/", {"iss": platform.issuer, "login_hint": "x", "client_id": platform.client_id}
    )
    cookie = next(c for name, c in response.cookies.items() if name.startswith("lti1p3-state-"))
    assert cookie["samesite"] == "None"
    assert cookie["secure"]
    assert cookie["httponly"]


def test_platform_storage_is_used_when_offered_and_cookies_are_blocked(client, platform):
    response = client.get(
        "/lti/login/",
        {
            "iss": platform.issuer,
            "login_hint": "learner-1",
            "client_id": platform.client_id,
            "lti_storage_target": "_parent",
        },
    )
    assert response.status_code == 200
    assert b"lti-storage.js" in response.content
    script = re.search(rb'id="fl-auth-url"[^>]*>(.*?)</script>', response.content).group(1)
    query = parse_qs(urlsplit(json.loads(script)).query)
    state, nonce = query["state"][0], query["nonce"][0]
    client.cookies.clear()  # the browser blocked the third-party cookie
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce=nonce))
    first = client.post("/lti/launch/", {"id_token": token, "state": state})
    assert first.status_code == 200
    assert b"lti_storage_checked" in first.content  # the page that checks platform storage
    second = client.post(
        "/lti/launch/", {"id_token": token, "state": state, "lti_storage_checked": "1"}
    )
    assert second.status_code == 302


def test_storage_flag_is_ignored_when_the_login_offered_no_storage(client, platform):
    result = login(client, platform)
    client.cookies.clear()
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce=result.nonce))
    response = client.post(
        "/lti/launch/", {"id_token": token, "state": result.state, "lti_storage_checked": "1"}
    )
    assert response.status_code == 400


def test_deep_linking_returns_a_signed_response_the_platform_can_verify(client, platform):
    settings_claim = {
        "deep_link_return_url": platform.base_url + "/deep-link-return",
        "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["iframe"],
        "accept_multiple": True,
        "data": "opaque-platform-data",
    }
    body = {
        LTI + "message_type": "LtiDeepLinkingRequest",
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": settings_claim,
    }
    picker = launch(
        client,
        platform,
        role="Instructor",
        body_overrides=body,
        drop_claims=(LTI + "resource_link",),
        follow=False,
    )
    assert picker.status_code == 200
    assert b"Add Finishline to your course" in picker.content
    lt, dl = picker.context["lt"], picker.context["dl"]
    jwks = client.get("/lti/jwks/").json()
    response = client.post(
        "/lti/deep-link/", {"lt": lt, "dl": dl, "placement": ["dashboard", "progress"]}
    )
    assert response.status_code == 200
    assert response.context["return_url"] == settings_claim["deep_link_return_url"]
    token = response.context["jwt"]
    header = jwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        token,
        jwt.algorithms.RSAAlgorithm.from_jwk(key),
        algorithms=["RS256"],
        audience=platform.issuer,
    )
    assert claims["iss"] == platform.client_id
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "deployment_id"] == platform.deployment_id
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-platform-data"
    items = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert [i["url"] for i in items] == ["http://127.0.0.1:8000/lti/launch/"] * 2


def test_learner_cannot_use_the_deep_linking_picker(client, platform):
    token = launch_token(launch(client, platform, role="Learner"))
    assert client.post("/lti/deep-link/", {"lt": token, "dl": "x"}).status_code == 403


def test_key_rotation_keeps_platforms_with_a_cached_jwks_working(client, platform):
    cached_by_platform = client.get("/lti/jwks/").json()
    assert len(cached_by_platform["keys"]) == 2  # current and next
    call_command("rotate_keys")
    current = ToolKey.objects.get(state="current")
    assert current.kid in {k["kid"] for k in cached_by_platform["keys"]}
    assertion = jwt.encode(
        {"iss": "tool", "aud": "platform"},
        current.private_key_pem,
        algorithm="RS256",
        headers={"kid": current.kid},
    )
    key = next(k for k in cached_by_platform["keys"] if k["kid"] == current.kid)
    assert (
        jwt.decode(
            assertion,
            jwt.algorithms.RSAAlgorithm.from_jwk(key),
            algorithms=["RS256"],
            audience="platform",
        )["iss"]
        == "tool"
    )
    published = {k["kid"] for k in client.get("/lti/jwks/").json()["keys"]}
    assert current.kid in published
    # current, next, and the retired key for an hour's grace
    assert len(published) == 3
    assert {k["kid"] for k in cached_by_platform["keys"]} <= published
    assert AuditEntry.objects.filter(action="tool_key.rotated").exists()
