"""The tool's keys: current and next published; a rotation platforms with a cached JWKS follow."""

from __future__ import annotations

from datetime import timedelta

import jwt
import time_machine
from django.core.management import call_command
from django.utils import timezone

from lti_tool.models import AuditEntry, ToolKey
from lti_tool.platform_services.client import FinishlineServiceConnector
from tests.lti_tool.helpers import deep_linking_launch, pick

AGS_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


def verify(token, jwks, **kwargs):
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    return jwt.decode(
        token, jwt.algorithms.RSAAlgorithm.from_jwk(key), algorithms=["RS256"], **kwargs
    )


def rotate(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("rotate_keys")


def test_the_jwks_publishes_the_current_and_the_next_key(client, db):
    jwks = client.get("/lti/jwks/").json()
    kids = {k["kid"] for k in jwks["keys"]}
    assert kids == set(ToolKey.objects.values_list("kid", flat=True))
    assert set(ToolKey.objects.values_list("state", flat=True)) == {"current", "next"}
    assert all(
        k["kty"] == "RSA" and k["alg"] == "RS256" and k["use"] == "sig" for k in jwks["keys"]
    )
    assert not any("d" in k or "p" in k for k in jwks["keys"])  # public parts only


def test_a_client_assertion_after_rotation_verifies_against_the_jwks_cached_before(
    client, platform, django_capture_on_commit_callbacks
):
    cached_by_platform = client.get("/lti/jwks/").json()
    rotate(django_capture_on_commit_callbacks)
    FinishlineServiceConnector(platform.record).get_access_token([AGS_SCOPE])
    assertion = platform.issued_tokens[-1]["client_assertion"]
    new_current = ToolKey.objects.get(state="current")
    assert jwt.get_unverified_header(assertion)["kid"] == new_current.kid
    claims = verify(assertion, cached_by_platform, audience=platform.token_url)
    assert claims["iss"] == claims["sub"] == platform.client_id


def test_a_deep_linking_response_after_rotation_verifies_against_the_jwks_cached_before(
    client, platform, django_capture_on_commit_callbacks
):
    cached_by_platform = client.get("/lti/jwks/").json()
    picker = deep_linking_launch(client, platform)
    rotate(django_capture_on_commit_callbacks)
    token = pick(client, picker, ["dashboard"]).context["response"].jwt
    assert jwt.get_unverified_header(token)["kid"] == ToolKey.objects.get(state="current").kid
    claims = verify(token, cached_by_platform, audience=platform.issuer)
    assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == (
        "LtiDeepLinkingResponse"
    )


def test_rotation_is_audited_and_keeps_the_retired_key_published_for_an_hour(
    client, db, django_capture_on_commit_callbacks, capsys
):
    before = {k["kid"] for k in client.get("/lti/jwks/").json()["keys"]}
    old_current = ToolKey.objects.get(state="current")
    rotate(django_capture_on_commit_callbacks)
    assert "Signing with" in capsys.readouterr().out
    entry = AuditEntry.objects.get(action="tool_key.rotated")
    assert entry.data == {"retired": old_current.kid}
    after = {k["kid"] for k in client.get("/lti/jwks/").json()["keys"]}
    assert before < after
    assert len(after) == 3  # current, next, and the retired key
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        later = {k["kid"] for k in client.get("/lti/jwks/").json()["keys"]}
    assert old_current.kid not in later
    assert len(later) == 2
    call_command("verify_audit")


def test_two_rotations_leave_exactly_one_current_and_one_next_key(
    client, db, django_capture_on_commit_callbacks
):
    client.get("/lti/jwks/")
    rotate(django_capture_on_commit_callbacks)
    rotate(django_capture_on_commit_callbacks)
    states = list(ToolKey.objects.values_list("state", flat=True))
    assert sorted(states) == ["current", "next", "retired", "retired"]
