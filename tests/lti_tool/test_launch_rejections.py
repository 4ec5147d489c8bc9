"""Every forged or broken launch is refused with a 4xx, a page, a log line, and no writes."""

from __future__ import annotations

import logging
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from completion.models import Activity
from lti_tool.models import Course, Deployment, Membership, Person, UsedNonce
from tests.platform.launcher import login
from tests.platform.server import LTI, Response


def post_launch(
    client, platform, *, body=None, sub="learner-1", state=None, drop=(), cookie=True, **sign
):
    result = login(client, platform, sub=sub)
    claims = platform.id_token_body(sub=sub, nonce=result.nonce)
    claims.update(body or {})
    for claim in drop:
        claims.pop(claim, None)
    token = sign.pop("token", None) or platform.sign(claims, **sign)
    if not cookie:
        client.cookies.pop("lti1p3-state-" + result.state, None)
    data = {"id_token": token, "state": result.state if state is None else state}
    return client.post("/lti/launch/", data)


def assert_refused(response, code, caplog, status=400):
    assert response.status_code == status, response.content[:300]
    assert response.context["code"] == code
    assert any(f"code={code}" in r.getMessage() for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]
    assert not Person.objects.exists()
    assert not Course.objects.exists()
    assert not Membership.objects.exists()
    assert not UsedNonce.objects.exists()
    assert not Activity.objects.exists()


@pytest.fixture(autouse=True)
def _log(caplog):
    caplog.set_level(logging.WARNING, logger="finishline.launch")


def test_missing_state_is_refused(client, platform, caplog):
    assert_refused(post_launch(client, platform, state=""), "state_unknown", caplog)


def test_wrong_state_is_refused(client, platform, caplog):
    assert_refused(post_launch(client, platform, state="state-made-up"), "state_unknown", caplog)


def test_state_without_its_browser_cookie_offers_a_new_window(client, platform, caplog):
    response = post_launch(client, platform, cookie=False)
    assert_refused(response, "state_unbound", caplog)
    assert b"new window" in response.content


def test_expired_token_is_refused(client, platform, caplog):
    now = int(time.time())
    response = post_launch(client, platform, body={"iat": now - 600, "exp": now - 60})
    assert_refused(response, "expired", caplog)


def test_token_issued_in_the_future_beyond_leeway_is_refused(client, platform, caplog):
    now = int(time.time())
    response = post_launch(client, platform, body={"iat": now + 60, "exp": now + 400})
    assert_refused(response, "future", caplog)


def test_small_clock_skew_is_tolerated(client, platform):
    now = int(time.time())
    response = post_launch(client, platform, body={"iat": now + 3, "exp": now + 300})
    assert response.status_code == 302


def test_wrong_audience_is_refused(client, platform, caplog):
    response = post_launch(client, platform, body={"aud": "another-tool", "azp": "another-tool"})
    assert_refused(response, "aud", caplog)


def test_several_audiences_without_our_azp_are_refused(client, platform, caplog):
    response = post_launch(
        client, platform, body={"aud": [platform.client_id, "other"], "azp": "other"}
    )
    assert_refused(response, "aud", caplog)
    response = post_launch(
        client, platform, body={"aud": [platform.client_id, "other"]}, drop=("azp",)
    )
    assert_refused(response, "aud", caplog)


def test_azp_naming_another_client_is_refused(client, platform, caplog):
    assert_refused(post_launch(client, platform, body={"azp": "other"}), "azp", caplog)


def test_bad_signature_is_refused(client, platform, caplog):
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = post_launch(client, platform, key=impostor, kid=platform.keys[-1][0])
    assert_refused(response, "signature", caplog)


def test_unsigned_and_hmac_tokens_are_refused(client, platform, caplog):
    import jwt as pyjwt

    kid = platform.keys[-1][0]
    for alg, key in (("none", None), ("HS256", "a-shared-secret-of-enough-length!")):
        result = login(client, platform)
        body = platform.id_token_body(sub="learner-1", nonce=result.nonce)
        token = pyjwt.encode(body, key, algorithm=alg, headers={"kid": kid})
        response = client.post("/lti/launch/", {"id_token": token, "state": result.state})
        assert_refused(response, "alg", caplog)


def test_not_a_jwt_is_refused(client, platform, caplog):
    assert_refused(post_launch(client, platform, token="not.a-jwt"), "jwt_format", caplog)


def test_unknown_kid_refetches_the_platform_keys_once_then_refuses(client, platform, caplog):
    post_launch(client, platform)  # caches the key set
    Person.objects.all().delete(), Course.objects.all().delete(), UsedNonce.objects.all().delete()
    Activity.objects.all().delete()
    fetches = sum(1 for r in platform.requests if r.path == "/jwks")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = post_launch(client, platform, key=stranger, kid="never-published")
    assert_refused(response, "kid", caplog)
    assert sum(1 for r in platform.requests if r.path == "/jwks") == fetches + 1


def test_platform_key_rotation_is_followed_without_a_restart(client, platform):
    assert post_launch(client, platform).status_code == 302
    fetches = sum(1 for r in platform.requests if r.path == "/jwks")
    platform.rotate_key()  # the tool has the old key set cached
    assert post_launch(client, platform, sub="learner-2").status_code == 302
    assert sum(1 for r in platform.requests if r.path == "/jwks") == fetches + 1


def test_platform_keys_are_cached_between_launches(client, platform):
    for sub in ("a", "b", "c"):
        assert post_launch(client, platform, sub=sub).status_code == 302
    assert sum(1 for r in platform.requests if r.path == "/jwks") == 1


def test_platform_key_endpoint_down_gives_a_clear_error(client, platform, caplog):
    platform.route("GET", "/jwks", lambda r: Response(500, {"error": "down"}))
    assert_refused(post_launch(client, platform), "jwks", caplog, status=502)


def test_unknown_issuer_is_refused_at_login(client, platform, caplog):
    response = client.get("/lti/login/", {"iss": "https://unknown.example", "login_hint": "x"})
    assert response.status_code == 400
    assert response.context["code"] == "unknown_issuer"


def test_token_from_another_issuer_is_refused(client, platform, caplog):
    assert_refused(
        post_launch(client, platform, body={"iss": "https://evil.example"}), "iss", caplog
    )


def test_unknown_deployment_is_refused(client, platform, caplog):
    response = post_launch(client, platform, body={LTI + "deployment_id": "not-registered"})
    assert_refused(response, "deployment", caplog)


def test_pending_deployment_is_refused(client, platform, caplog):
    Deployment.objects.update(status="pending")
    assert_refused(post_launch(client, platform), "deployment_pending", caplog, status=403)


@pytest.mark.parametrize(
    "claim",
    [
        "sub",
        LTI + "roles",
        LTI + "deployment_id",
        LTI + "resource_link",
        LTI + "context",
        LTI + "message_type",
        LTI + "version",
        "nonce",
    ],
)
def test_missing_required_claim_is_refused(client, platform, caplog, claim):
    response = post_launch(client, platform, drop=(claim,))
    assert response.status_code == 400
    assert response.context["code"] in {"claims", "jwt", "deployment", "nonce"}
    assert not Person.objects.exists()
    assert not UsedNonce.objects.exists()


def test_wrong_message_type_is_refused(client, platform, caplog):
    response = post_launch(
        client, platform, body={LTI + "message_type": "LtiSubmissionReviewRequest"}
    )
    assert_refused(response, "claims", caplog)


def test_wrong_lti_version_is_refused(client, platform, caplog):
    assert_refused(post_launch(client, platform, body={LTI + "version": "1.1"}), "claims", caplog)


def test_nonce_not_issued_at_login_is_refused(client, platform, caplog):
    assert_refused(
        post_launch(client, platform, body={"nonce": "chosen-by-attacker"}), "nonce", caplog
    )


def test_launch_without_id_token_is_refused(client, platform, caplog):
    response = client.post("/lti/launch/", {"state": "x"})
    assert response.status_code == 400
    assert response.context["code"] == "no_id_token"


def test_login_target_outside_the_tool_is_refused(client, platform):
    response = client.get(
        "/lti/login/",
        {
            "iss": platform.issuer,
            "login_hint": "x",
            "client_id": platform.client_id,
            "target_link_uri": "https://evil.example/phish",
        },
    )
    assert response.status_code == 400
    assert response.context["code"] == "target_link_uri"
