"""Deep Linking 2.0 end to end: request launch, picker, signed response the platform verifies."""

from __future__ import annotations

import re

import jwt
import pytest

from tests.lti_tool.helpers import DL, deep_linking_launch, pick
from tests.platform.launcher import launch, launch_token
from tests.platform.server import LTI


def verify_with_tool_jwks(client, token, platform):
    """What the platform does: fetch the tool's JWKS and check the response JWT."""
    jwks = client.get("/lti/jwks/").json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    return jwt.decode(
        token,
        jwt.algorithms.RSAAlgorithm.from_jwk(key),
        algorithms=["RS256"],
        audience=platform.issuer,
        issuer=platform.client_id,
        options={"require": ["exp", "iat", "nonce"]},
    )


def test_an_instructor_picks_placements_and_the_platform_gets_a_verifiable_response(
    client, platform
):
    picker = deep_linking_launch(client, platform)
    assert picker.status_code == 200
    assert b"Add Finishline to your course" in picker.content
    response = pick(client, picker, ["dashboard", "progress"])
    assert response.status_code == 200
    # The page posts the JWT to the platform's return URL by itself.
    form = re.search(rb'<form id="fl-dl-return" method="post" action="([^"]+)"', response.content)
    assert form.group(1).decode() == platform.base_url + "/deep-link-return"
    assert b"data-autosubmit" in response.content
    assert b"autosubmit.js" in response.content
    # ...which the page's policy allows: form-action names the platform's origin.
    assert f"form-action 'self' {platform.base_url};" in response["Content-Security-Policy"]
    token = re.search(rb'name="JWT" value="([^"]+)"', response.content).group(1).decode()
    claims = verify_with_tool_jwks(client, token, platform)
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == platform.deployment_id
    assert claims[DL + "data"] == "opaque-platform-data"
    items = claims[DL + "content_items"]
    assert [i["type"] for i in items] == ["ltiResourceLink", "ltiResourceLink"]
    assert {i["url"] for i in items} == {"http://127.0.0.1:8000/lti/launch/"}
    assert [i["custom"]["finishline_placement"] for i in items] == ["dashboard", "progress"]


def test_no_data_claim_is_sent_when_the_platform_sent_none(client, platform):
    picker = deep_linking_launch(client, platform, data=None)
    claims = verify_with_tool_jwks(
        client, pick(client, picker, ["dashboard"]).context["response"].jwt, platform
    )
    assert DL + "data" not in claims


def test_one_item_only_when_the_platform_accepts_one(client, platform):
    picker = deep_linking_launch(client, platform, accept_multiple=False)
    token = pick(client, picker, ["dashboard", "progress"]).context["response"].jwt
    assert len(verify_with_tool_jwks(client, token, platform)[DL + "content_items"]) == 1


def test_a_placement_that_takes_no_resource_links_gets_an_error_message(client, platform):
    picker = deep_linking_launch(client, platform, accept_types=["file", "html"])
    token = pick(client, picker, ["dashboard"]).context["response"].jwt
    claims = verify_with_tool_jwks(client, token, platform)
    assert claims[DL + "content_items"] == []
    assert "resource links" in claims[DL + "errormsg"]


def test_a_learner_gets_no_picker(client, platform):
    response = deep_linking_launch(client, platform, role="Learner", sub="learner-1")
    assert response.status_code == 403
    assert b"Add Finishline" not in response.content


def test_a_learner_cannot_post_to_the_picker(client, platform):
    picker = deep_linking_launch(client, platform)
    learner = launch_token(launch(client, platform, role="Learner", sub="learner-9"))
    response = client.post(
        "/lti/deep-link/", {"lt": learner, "dl": picker.context["dl"], "placement": "dashboard"}
    )
    assert response.status_code == 403


def test_a_picker_request_of_another_launch_is_refused(client, platform):
    mine = deep_linking_launch(client, platform, sub="teacher-1")
    theirs = deep_linking_launch(client, platform, sub="teacher-2")
    response = client.post(
        "/lti/deep-link/",
        {"lt": mine.context["launch_token"], "dl": theirs.context["dl"], "placement": "dashboard"},
    )
    assert response.status_code == 400
    assert response.context["code"] == "deep_link"


def test_a_resource_link_launch_token_cannot_answer_a_deep_linking_request(client, platform):
    picker = deep_linking_launch(client, platform, sub="teacher-1")
    other = launch_token(launch(client, platform, role="Instructor", sub="teacher-1"))
    response = client.post(
        "/lti/deep-link/", {"lt": other, "dl": picker.context["dl"], "placement": "dashboard"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize("dl", ["", "forged-value"])
def test_a_forged_picker_request_is_refused(client, platform, dl):
    picker = deep_linking_launch(client, platform)
    response = client.post("/lti/deep-link/", {"lt": picker.context["launch_token"], "dl": dl})
    assert response.status_code == 400
