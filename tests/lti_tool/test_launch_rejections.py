"""Every forged or broken launch is refused with a 4xx page, a log line, and no writes."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import jwt as pyjwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from lti_tool.launch.flow import read_state, sign_state
from lti_tool.models import Deployment, Platform, UsedNonce
from tests.lti_tool.helpers import STATE_COOKIE, assert_refused, nothing_written, post_launch
from tests.platform.launcher import login
from tests.platform.server import LTI

DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


@pytest.fixture(autouse=True)
def _log(caplog):
    caplog.set_level(logging.INFO, logger="finishline.launch")


def test_a_replayed_nonce_is_refused_even_with_the_state_cookie(client, platform, caplog):
    result = login(client, platform)
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce=result.nonce))
    first = client.post("/lti/launch/", {"id_token": token, "state": result.state})
    assert first.status_code == 200
    assert UsedNonce.objects.count() == 1
    # The attacker replays the captured POST, with the browser's state cookie as well.
    client.cookies["lti1p3-state-" + result.state] = result.state
    second = client.post("/lti/launch/", {"id_token": token, "state": result.state})
    assert second.status_code == 400
    assert second.context["code"] == "replay"
    assert any("code=replay " in r.getMessage() for r in caplog.records)
    assert UsedNonce.objects.count() == 1


def test_a_missing_state_is_refused(client, platform, caplog):
    assert_refused(post_launch(client, platform, state=""), "state_unknown", caplog)


def test_a_state_never_issued_is_refused(client, platform, caplog):
    assert_refused(post_launch(client, platform, state="state-made-up"), "state_unknown", caplog)


def test_a_state_with_its_nonce_changed_is_refused(client, platform, caplog):
    result = login(client, platform)
    signed = read_state(result.state)
    _, stamp, signature = result.state.rsplit(".", 2)
    other = sign_state(nonce="attacker-nonce", platform_id=signed.platform_id, storage_target="")
    forged = ".".join([other.rsplit(".", 2)[0], stamp, signature])
    client.cookies[STATE_COOKIE + forged] = forged
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce="attacker-nonce"))
    response = client.post("/lti/launch/", {"id_token": token, "state": forged})
    assert_refused(response, "state_unknown", caplog)


def test_a_state_signed_for_another_purpose_is_refused(client, platform, caplog):
    from django.core import signing

    result = login(client, platform)
    other = signing.TimestampSigner(sep=".").sign_object(
        {"n": result.nonce, "p": platform.record.pk, "s": ""}
    )
    client.cookies[STATE_COOKIE + other] = other
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce=result.nonce))
    response = client.post("/lti/launch/", {"id_token": token, "state": other})
    assert_refused(response, "state_unknown", caplog)


def test_a_state_past_its_ten_minutes_is_refused(client, platform, caplog):
    result = login(client, platform)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        token = platform.sign(platform.id_token_body(sub="learner-1", nonce=result.nonce))
        response = client.post("/lti/launch/", {"id_token": token, "state": result.state})
    assert_refused(response, "state_expired", caplog)


def test_a_state_without_its_cookie_and_no_platform_storage_gets_the_new_window_page(
    client, platform, caplog
):
    response = post_launch(client, platform, cookie=False)
    assert_refused(response, "state_unbound", caplog)
    assert b"Open Finishline in a new window" in response.content


def test_a_launch_without_id_token_is_refused(client, platform, caplog):
    result = login(client, platform)
    response = client.post("/lti/launch/", {"state": result.state})
    assert_refused(response, "no_id_token", caplog)


def test_a_token_that_is_not_a_jwt_is_refused(client, platform, caplog):
    assert_refused(post_launch(client, platform, token="not.a-jwt"), "jwt_format", caplog)
    assert_refused(post_launch(client, platform, token="W10.W10.c2ln"), "jwt_format", caplog)


def test_an_expired_token_is_refused(client, platform, caplog):
    now = int(time.time())
    response = post_launch(client, platform, body={"iat": now - 600, "exp": now - 60})
    assert_refused(response, "expired", caplog)


def test_a_token_expired_within_the_leeway_is_accepted(client, platform):
    now = int(time.time())
    response = post_launch(client, platform, body={"iat": now - 300, "exp": now - 3})
    assert response.status_code == 200


def test_a_token_issued_in_the_future_beyond_the_leeway_is_refused(client, platform, caplog):
    now = int(time.time())
    response = post_launch(client, platform, body={"iat": now + 60, "exp": now + 400})
    assert_refused(response, "future", caplog)


def test_a_token_not_valid_before_a_later_time_is_refused(client, platform, caplog):
    now = int(time.time())
    response = post_launch(client, platform, body={"nbf": now + 60})
    assert_refused(response, "future", caplog)


def test_a_clock_skew_of_three_seconds_is_tolerated(client, platform):
    now = int(time.time())
    response = post_launch(client, platform, body={"iat": now + 3, "exp": now + 300})
    assert response.status_code == 200


def test_a_token_for_another_audience_is_refused(client, platform, caplog):
    response = post_launch(client, platform, body={"aud": "another-tool", "azp": "another-tool"})
    assert_refused(response, "aud", caplog)


def test_an_audience_list_without_us_is_refused(client, platform, caplog):
    response = post_launch(client, platform, body={"aud": ["a", "b"]}, drop=("azp",))
    assert_refused(response, "aud", caplog)


def test_an_audience_list_without_azp_is_refused(client, platform, caplog):
    response = post_launch(
        client, platform, body={"aud": [platform.client_id, "other"]}, drop=("azp",)
    )
    assert_refused(response, "azp", caplog)


def test_an_audience_list_whose_azp_is_another_client_is_refused(client, platform, caplog):
    response = post_launch(
        client, platform, body={"aud": [platform.client_id, "other"], "azp": "other"}
    )
    assert_refused(response, "azp", caplog)


def test_an_azp_naming_another_client_is_refused(client, platform, caplog):
    assert_refused(post_launch(client, platform, body={"azp": "other"}), "azp", caplog)


def test_an_audience_list_with_our_azp_is_accepted(client, platform):
    response = post_launch(
        client, platform, body={"aud": [platform.client_id, "other"], "azp": platform.client_id}
    )
    assert response.status_code == 200


def test_a_token_signed_by_another_key_under_a_published_kid_is_refused(client, platform, caplog):
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = post_launch(client, platform, key=impostor, kid=platform.keys[-1][0])
    assert_refused(response, "signature", caplog)


def test_a_token_whose_body_was_altered_after_signing_is_refused(client, platform, caplog):
    result = login(client, platform)
    body = platform.id_token_body(sub="learner-1", nonce=result.nonce)
    header, _, signature = platform.sign(body).split(".")
    forged = dict(body, sub="the-admin")
    _, forged_body, _ = pyjwt.encode(forged, "x" * 32, algorithm="HS256").split(".")
    token = f"{header}.{forged_body}.{signature}"
    response = client.post("/lti/launch/", {"id_token": token, "state": result.state})
    assert_refused(response, "signature", caplog)


@pytest.mark.parametrize(
    ("alg", "key"), [("none", None), ("HS256", "a-shared-secret-of-enough-length!")]
)
def test_unsigned_and_hmac_tokens_are_refused(client, platform, caplog, alg, key):
    result = login(client, platform)
    body = platform.id_token_body(sub="learner-1", nonce=result.nonce)
    token = pyjwt.encode(body, key, algorithm=alg, headers={"kid": platform.keys[-1][0]})
    response = client.post("/lti/launch/", {"id_token": token, "state": result.state})
    assert_refused(response, "alg", caplog)


def test_a_token_naming_no_key_is_refused(client, platform, caplog):
    result = login(client, platform)
    body = platform.id_token_body(sub="learner-1", nonce=result.nonce)
    token = pyjwt.encode(body, platform.keys[-1][1], algorithm="RS256")
    response = client.post("/lti/launch/", {"id_token": token, "state": result.state})
    assert_refused(response, "kid", caplog)


def test_a_login_from_an_unknown_issuer_is_refused(client, platform, caplog):
    response = client.get("/lti/login/", {"iss": "https://unknown.example", "login_hint": "x"})
    assert_refused(response, "unknown_issuer", caplog)
    assert not any(name.startswith(STATE_COOKIE) for name in response.cookies)


def test_a_login_naming_an_unknown_client_is_refused(client, platform, caplog):
    response = client.get(
        "/lti/login/", {"iss": platform.issuer, "login_hint": "x", "client_id": "not-ours"}
    )
    assert_refused(response, "unknown_issuer", caplog)
    assert not any(name.startswith(STATE_COOKIE) for name in response.cookies)


def test_a_login_without_login_hint_is_refused(client, platform, caplog):
    response = client.get("/lti/login/", {"iss": platform.issuer})
    assert_refused(response, "login_params", caplog)


def test_a_login_for_a_pending_platform_is_refused(client, platform, caplog):
    Platform.objects.update(status=Platform.Status.PENDING)
    response = client.get(
        "/lti/login/",
        {"iss": platform.issuer, "login_hint": "x", "client_id": platform.client_id},
    )
    assert_refused(response, "platform_pending", caplog, status=403)
    assert not any(name.startswith(STATE_COOKIE) for name in response.cookies)


def test_a_platform_disabled_by_another_process_refuses_launches_at_once(client, platform, caplog):
    """This process still holds the platform as active (kept for a while per process); the
    statement that consumes the nonce reads its status afresh."""
    post_launch(client, platform, sub="learner-1")
    post_launch(client, platform, sub="learner-1")  # the platform is now kept in this process
    Platform.objects.update(status=Platform.Status.DISABLED)
    written = UsedNonce.objects.count()
    response = post_launch(client, platform, sub="learner-1")
    assert response.status_code == 403
    assert response.context["code"] == "platform_pending"
    assert UsedNonce.objects.count() == written


def test_a_platform_disabled_between_login_and_launch_is_refused(client, platform, caplog):
    result = login(client, platform)
    Platform.objects.update(status=Platform.Status.DISABLED)
    token = platform.sign(platform.id_token_body(sub="learner-1", nonce=result.nonce))
    response = client.post("/lti/launch/", {"id_token": token, "state": result.state})
    assert_refused(response, "platform_pending", caplog, status=403)


def test_a_token_from_another_issuer_is_refused(client, platform, caplog):
    response = post_launch(client, platform, body={"iss": "https://evil.example"})
    assert_refused(response, "iss", caplog)


def test_an_unknown_deployment_is_refused(client, platform, caplog):
    response = post_launch(client, platform, body={LTI + "deployment_id": "not-registered"})
    assert_refused(response, "deployment", caplog)


def test_a_pending_deployment_is_refused(client, platform, caplog):
    Deployment.objects.update(status=Deployment.Status.PENDING)
    assert_refused(post_launch(client, platform), "deployment_pending", caplog, status=403)


@pytest.mark.parametrize(
    "claim",
    [
        "sub",
        "nonce",
        "exp",
        "iat",
        LTI + "roles",
        LTI + "deployment_id",
        LTI + "resource_link",
        LTI + "context",
    ],
)
def test_a_missing_required_claim_is_refused(client, platform, caplog, claim):
    assert_refused(post_launch(client, platform, drop=(claim,)), "claims", caplog)


def test_a_resource_link_without_id_is_refused(client, platform, caplog):
    response = post_launch(client, platform, body={LTI + "resource_link": {"title": "no id"}})
    assert_refused(response, "claims", caplog)


def test_a_deep_linking_request_without_its_settings_is_refused(client, platform, caplog):
    response = post_launch(
        client,
        platform,
        body={LTI + "message_type": "LtiDeepLinkingRequest"},
        drop=(LTI + "resource_link",),
    )
    assert_refused(response, "claims", caplog)


def test_roles_finishline_does_not_know_are_refused(client, platform, caplog):
    response = post_launch(client, platform, body={LTI + "roles": []})
    assert_refused(response, "role", caplog)


@pytest.mark.parametrize("message_type", ["LtiSubmissionReviewRequest", "", 7])
def test_a_wrong_message_type_is_refused(client, platform, caplog, message_type):
    response = post_launch(client, platform, body={LTI + "message_type": message_type})
    assert_refused(response, "message_type", caplog)


@pytest.mark.parametrize("version", ["1.1", "1.3", None])
def test_a_wrong_lti_version_is_refused(client, platform, caplog, version):
    response = post_launch(client, platform, body={LTI + "version": version})
    assert_refused(response, "lti_version", caplog)


def test_a_nonce_not_issued_at_login_is_refused(client, platform, caplog):
    response = post_launch(client, platform, body={"nonce": "chosen-by-attacker"})
    assert_refused(response, "nonce", caplog)


def test_a_target_link_outside_the_tool_is_refused_at_login(client, platform, caplog):
    response = client.get(
        "/lti/login/",
        {
            "iss": platform.issuer,
            "login_hint": "x",
            "client_id": platform.client_id,
            "target_link_uri": "https://evil.example/phish",
        },
    )
    assert_refused(response, "target_link_uri", caplog)


def test_a_signed_target_link_outside_the_tool_is_refused(client, platform, caplog):
    response = post_launch(
        client, platform, body={LTI + "target_link_uri": "https://evil.example/phish"}
    )
    assert_refused(response, "target_link_uri", caplog)


def test_a_refused_launch_leaves_the_state_usable_for_the_real_one(client, platform):
    result = login(client, platform)
    body = platform.id_token_body(sub="learner-1", nonce=result.nonce)
    forged = platform.sign(dict(body, aud="someone-else"))
    refused = client.post("/lti/launch/", {"id_token": forged, "state": result.state})
    assert refused.status_code == 400
    assert nothing_written()
    real = client.post("/lti/launch/", {"id_token": platform.sign(body), "state": result.state})
    assert real.status_code == 200
