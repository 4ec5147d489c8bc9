"""Without the state cookie: platform storage where the platform offers it, else a new window."""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from lti_tool.launch.flow import read_state
from lti_tool.models import Membership
from tests.lti_tool.helpers import TOOL_ORIGIN, assert_refused, nothing_written
from tests.platform.launcher import landing_url, login
from tests.platform.server import LTI


@pytest.fixture(autouse=True)
def _log(caplog):
    caplog.set_level(logging.INFO, logger="finishline.launch")


def json_script(response, element_id):
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</script>'.encode(), response.content)
    assert match, f"{element_id} not on the page"
    return json.loads(match.group(1))


def storage_login(client, platform, target="post_message_forwarding"):
    """A login that offers platform storage; returns the page and the state and nonce it holds."""
    response = client.get(
        "/lti/login/",
        {
            "iss": platform.issuer,
            "login_hint": "learner-1",
            "client_id": platform.client_id,
            "lti_storage_target": target,
        },
    )
    auth = parse_qs(urlsplit(json_script(response, "fl-auth-url")).query)
    return response, auth["state"][0], auth["nonce"][0]


def test_a_login_offering_storage_answers_with_the_storage_page(client, platform):
    response, state, nonce = storage_login(client, platform)
    assert response.status_code == 200
    assert b"finishline/lti-storage.js" in response.content
    assert json_script(response, "fl-auth-url").startswith(platform.auth_login_url + "?")
    assert json_script(response, "fl-state") == state
    assert json_script(response, "fl-nonce") == nonce
    assert json_script(response, "fl-target") == "post_message_forwarding"
    assert json_script(response, "fl-origin") == platform.base_url  # the OIDC auth URL's origin
    assert read_state(state).storage_target == "post_message_forwarding"


def test_a_launch_without_the_cookie_is_checked_against_platform_storage_first(client, platform):
    _, state, nonce = storage_login(client, platform)
    client.cookies.clear()  # the browser blocked the third-party cookie
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce=nonce))
    response = client.post("/lti/launch/", {"id_token": token, "state": state})
    assert response.status_code == 200
    assert response.context["state"] == state
    assert response.context["storage_target"] == "post_message_forwarding"
    assert response.context["platform_origin"] == platform.base_url
    assert b'name="lti_storage_checked" value="1"' in response.content
    assert nothing_written()


def test_the_relaunch_from_our_own_page_after_the_storage_check_is_accepted(client, platform):
    _, state, nonce = storage_login(client, platform)
    client.cookies.clear()
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce=nonce))
    response = client.post(
        "/lti/launch/",
        {"id_token": token, "state": state, "lti_storage_checked": "1"},
        HTTP_ORIGIN=TOOL_ORIGIN,
    )
    assert response.status_code == 200
    assert landing_url(response) == "/me/progress/"


def test_a_same_origin_relaunch_without_an_origin_header_is_accepted(client, platform):
    _, state, nonce = storage_login(client, platform)
    client.cookies.clear()
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce=nonce))
    response = client.post(
        "/lti/launch/",
        {"id_token": token, "state": state, "lti_storage_checked": "1"},
        HTTP_SEC_FETCH_SITE="same-origin",
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_ORIGIN": "https://evil.example"}, {"HTTP_SEC_FETCH_SITE": "cross-site"}, {}],
)
def test_a_storage_flag_posted_by_another_site_is_refused(client, platform, caplog, headers):
    """Login CSRF: a page elsewhere posts the attacker's id_token with the flag set."""
    _, state, nonce = storage_login(client, platform)
    client.cookies.clear()
    token = platform.sign(platform.id_token_body(sub="attacker", nonce=nonce))
    response = client.post(
        "/lti/launch/", {"id_token": token, "state": state, "lti_storage_checked": "1"}, **headers
    )
    assert_refused(response, "storage_unverified", caplog, status=403)


def test_the_storage_flag_counts_only_for_a_login_that_offered_storage(client, platform, caplog):
    result = login(client, platform)
    client.cookies.clear()
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce=result.nonce))
    response = client.post(
        "/lti/launch/",
        {"id_token": token, "state": result.state, "lti_storage_checked": "1"},
        HTTP_ORIGIN=TOOL_ORIGIN,
    )
    assert_refused(response, "state_unbound", caplog)
    assert b"Open Finishline in a new window" in response.content


FRAME = {"HTTP_SEC_FETCH_DEST": "iframe", "HTTP_SEC_FETCH_SITE": "cross-site"}


def test_in_another_sites_frame_the_login_checks_cookies_before_spending_the_hint(client, platform):
    query = {
        "iss": platform.issuer,
        "client_id": platform.client_id,
        "login_hint": "learner-1",
        "lti_message_hint": "resource-7",
        "lti_deployment_id": platform.deployment_id,
    }
    page = client.get("/lti/login/", query, **FRAME)
    # Not sent to the platform yet: the page first checks that this frame keeps our cookies.
    assert page.status_code == 200
    assert not platform.requests
    probe = page.cookies["finishline-probe"]
    assert not probe["httponly"]
    assert b"login-check.js" in page.content
    link = page.context["relogin_url"]
    assert "resource-7" in link
    # The new window starts the same login first-party, with the hint still unspent.
    window = Client()
    redirect = window.get(link, HTTP_SEC_FETCH_DEST="document", HTTP_SEC_FETCH_SITE="cross-site")
    assert redirect.status_code == 302
    auth = parse_qs(urlsplit(redirect["Location"]).query)
    assert auth["lti_message_hint"] == ["resource-7"]
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce=auth["nonce"][0]))
    landed = window.post("/lti/launch/", {"id_token": token, "state": auth["state"][0]})
    assert landed.status_code == 200
    assert landing_url(landed) == "/me/progress/"


def test_a_top_level_launch_without_the_lax_cookie_is_repeated_from_our_own_page(client, platform):
    result = login(client, platform)
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce=result.nonce))
    data = {"id_token": token, "state": result.state}
    # The platform's cross-site POST in a top-level window: the Lax cookie does not ride on it.
    bare = Client().post("/lti/launch/", data, HTTP_SEC_FETCH_DEST="document")
    assert bare.status_code == 200
    assert b'name="lti_repost" value="1"' in bare.content
    assert not Membership.objects.exists()
    again = client.post("/lti/launch/", {**data, "lti_repost": "1"}, HTTP_ORIGIN=TOOL_ORIGIN)
    assert again.status_code == 200
    assert landing_url(again) == "/me/progress/"


def test_a_failed_frame_launch_offers_the_course_page_only_on_the_platforms_site(client, platform):
    for return_url, shown in (
        (platform.base_url + "/course/7", True),
        ("https://evil.example/phish", False),
    ):
        result = login(client, platform)
        client.cookies.clear()
        body = platform.id_token_body(sub="learner-1", nonce=result.nonce)
        body[LTI + "launch_presentation"] = {"return_url": return_url}
        page = client.post("/lti/launch/", {"id_token": platform.sign(body), "state": result.state})
        assert page.status_code == 400
        assert (return_url.encode() in page.content) is shown
        assert page.context["course_url"] == (return_url if shown else "")


def test_the_storage_script_follows_the_postmessage_storage_messages():
    from pathlib import Path

    script = (Path(__file__).parents[2] / "static/finishline/lti-storage.js").read_text()
    for needed in (
        '"lti.put_data"',
        '"lti.get_data"',
        'subject + ".response"',
        "message_id",
        '"state_" + state',
        '"nonce_" + nonce',
        "event.origin !== platformOrigin",
        "target.postMessage(message, platformOrigin)",
        'frameName === "_parent"',
        "parent.frames[frameName]",
    ):
        assert needed in script, needed
    assert '"*"' not in script  # never a wildcard target origin


def test_the_demo_lms_refuses_a_spent_message_hint(db, settings):
    from django.core.management import call_command

    from lti_tool.demo.views import new_hint

    call_command("seed_demo")
    query = {
        "client_id": "finishline-demo",
        "redirect_uri": settings.TOOL_BASE_URL + "/lti/launch/",
        "login_hint": "demo-learner-1",
        "lti_message_hint": new_hint("learner"),
        "nonce": "n",
        "state": "s",
    }
    client = Client()
    assert client.get("/demo/platform/auth/", query).status_code == 200
    again = client.get("/demo/platform/auth/", query)
    assert again.status_code == 400
    assert b"already used" in again.content
