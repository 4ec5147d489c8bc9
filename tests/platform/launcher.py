"""Drive a real LTI launch through the Django test client: login, platform auth, id_token POST."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.test import Client

from tests.platform.server import TestPlatform


@dataclass
class LoginResult:
    state: str
    nonce: str
    auth_query: dict[str, str]


def login(
    client: Client,
    platform: TestPlatform,
    *,
    sub: str = "learner-1",
    method: str = "get",
    **params: str,
) -> LoginResult:
    query = {
        "iss": platform.issuer,
        "client_id": platform.client_id,
        "login_hint": sub,
        "target_link_uri": "http://127.0.0.1:8000/lti/launch/",
        "lti_deployment_id": platform.deployment_id,
        **params,
    }
    response = getattr(client, method)("/lti/login/", query)
    assert response.status_code == 302, response.content[:500]
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == platform.auth_login_url
    auth_query = {k: v[0] for k, v in parse_qs(location.query).items()}
    return LoginResult(state=auth_query["state"], nonce=auth_query["nonce"], auth_query=auth_query)


def launch(
    client: Client,
    platform: TestPlatform,
    *,
    sub: str = "learner-1",
    role: str = "Learner",
    context_id: str = "course-1",
    body_overrides: dict[str, Any] | None = None,
    drop_claims: tuple[str, ...] = (),
    follow: bool = True,
    **sign_kwargs: Any,
):
    """A full launch; returns the final response (the landing page when follow=True)."""
    result = login(client, platform, sub=sub)
    body = platform.id_token_body(sub=sub, nonce=result.nonce, role=role, context_id=context_id)
    body.update(body_overrides or {})
    for claim in drop_claims:
        body.pop(claim, None)
    token = platform.sign(body, **sign_kwargs)
    return client.post("/lti/launch/", {"id_token": token, "state": result.state}, follow=follow)


_META = re.compile(r'<meta name="finishline-(launch|page-url)" content="([^"]*)">')


def _meta(response, name: str) -> str:
    found = dict(_META.findall(response.content.decode()))
    return html.unescape(found.get(name, ""))


def launch_token(response) -> str:
    """The launch session's secret, from the page the launch served (its meta tag)."""
    token = _meta(response, "launch")
    assert token, response.content[:500]
    return token


def landing_url(response) -> str:
    """The address the launch's page shows (the launch serves its landing page directly)."""
    return _meta(response, "page-url")
