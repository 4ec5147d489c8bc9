"""Launch helpers for the lti_tool tests: a launch with one thing changed, and the refusal check."""

from __future__ import annotations

from completion.models import Activity
from lti_tool.models import Course, Membership, MembershipChange, Person, ResourceLink, UsedNonce
from tests.platform.launcher import login
from tests.platform.server import LTI

TOOL_ORIGIN = "http://127.0.0.1:8000"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
STATE_COOKIE = "lti1p3-state-"


def post_launch(
    client,
    platform,
    *,
    body=None,
    sub="learner-1",
    state=None,
    drop=(),
    cookie=True,
    token=None,
    extra=None,
    **sign,
):
    """Log in, have the platform sign an id_token (`body` merged in, `drop` left out), post it."""
    result = login(client, platform, sub=sub)
    claims = platform.id_token_body(sub=sub, nonce=result.nonce)
    claims.update(body or {})
    for claim in drop:
        claims.pop(claim, None)
    token = token or platform.sign(claims, **sign)
    if not cookie:
        client.cookies.pop(STATE_COOKIE + result.state, None)
    data = {"id_token": token, "state": result.state if state is None else state, **(extra or {})}
    return client.post("/lti/launch/", data)


def nothing_written():
    """No trace of a launch: no person, course, link, membership, consumed nonce or activity."""
    return (
        not any(
            model.objects.exists()
            for model in (Person, Course, ResourceLink, Membership, MembershipChange, UsedNonce)
        )
        and not Activity.objects.exists()
    )


def assert_refused(response, code, caplog, status=400):
    """A 4xx page naming `code`, one structured log line with it, and nothing written."""
    assert response.status_code == status, response.content[:400]
    assert response.context["code"] == code
    lines = [r.getMessage() for r in caplog.records if r.name == "finishline.launch"]
    assert any(line.startswith("lti_rejected ") and f"code={code} " in line for line in lines), (
        lines
    )
    assert nothing_written()


def jwks_fetches(platform):
    return sum(1 for r in platform.requests if r.method == "GET" and r.path == "/jwks")


def deep_linking_launch(client, platform, *, role="Instructor", sub="teacher-1", **settings):
    dl_settings = {
        "deep_link_return_url": platform.base_url + "/deep-link-return",
        "accept_types": ["ltiResourceLink"],
        "accept_presentation_document_targets": ["iframe", "window"],
        "accept_multiple": True,
        "data": "opaque-platform-data",
        **settings,
    }
    body = {
        LTI + "message_type": "LtiDeepLinkingRequest",
        DL + "deep_linking_settings": {k: v for k, v in dl_settings.items() if v is not None},
    }
    return post_launch(
        client,
        platform,
        sub=sub,
        body={LTI + "roles": [role_uri(role)], **body},
        drop=(LTI + "resource_link",),
    )


def role_uri(role):
    return "http://purl.imsglobal.org/vocab/lis/v2/membership#" + role


def pick(client, picker, placements):
    return client.post(
        "/lti/deep-link/",
        {"lt": picker.context["launch_token"], "dl": picker.context["dl"], "placement": placements},
    )
