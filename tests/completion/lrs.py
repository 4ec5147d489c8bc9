"""An xAPI client for the tests: real HTTP Basic credentials, real requests through Django.

`Lrs.call` sends any method with query parameters (objects JSON-encoded, as LRS clients do),
a body and extra headers, and returns Django's response.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import quote

from lti_tool.keys import credentials
from lti_tool.models import Deployment
from lti_tool.services import register_platform

ADL = "http://adlnet.gov/expapi/verbs/"
ACTIVITY = "http://www.example.com/activityId/hashset"
AGENT = {
    "objectType": "Agent",
    "account": {"homePage": "http://www.example.com/agentId/1", "name": "Rick James"},
}


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def query(params: dict[str, Any] | None) -> str:
    if not params:
        return ""
    parts = []
    for name, value in params.items():
        text = json.dumps(value) if isinstance(value, dict | list) else str(value)
        raw = text.encode("utf-8", "surrogatepass")  # hostile tests send lone surrogates too
        parts.append(f"{quote(name, safe='')}={quote(raw, safe='')}")
    return "?" + "&".join(parts)


class Lrs:
    def __init__(self, client, deployment: Deployment, version: str = "1.0.3"):
        issued = credentials.issue_credential(
            deployment=deployment, kind="xapi", name="LRS client", actor="test"
        )
        self.client = client
        self.auth = basic(issued.key, issued.secret)
        self.version = version

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"HTTP_AUTHORIZATION": self.auth}
        if self.version:
            headers["HTTP_X_EXPERIENCE_API_VERSION"] = self.version
        for name, value in extra.items():
            headers["HTTP_" + name.upper().replace("-", "_")] = value
        return headers

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        **headers: str,
    ):
        if isinstance(body, dict | list):
            data: Any = json.dumps(body)
        else:
            data = body if body is not None else ""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        send = getattr(self.client, method.lower())
        url = "/xapi/" + path + query(params)
        if method.upper() in {"GET", "HEAD"}:
            return send(url, **self.headers(**headers))
        return send(url, data, content_type=content_type, **self.headers(**headers))


def make_deployment(issuer: str = "https://lms.example.edu", deployment_id: str = "d1"):
    platform = register_platform(
        issuer=issuer,
        client_id="finishline",
        auth_login_url=issuer + "/auth",
        auth_token_url=issuer + "/token",
        jwks_url=issuer + "/jwks",
        deployment_ids=[deployment_id],
        actor="test",
    )
    return Deployment.objects.get(platform=platform, deployment_id=deployment_id)


def statement(**extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.edu"},
        "verb": {"id": ADL + "experienced", "display": {"en-US": "experienced"}},
        "object": {"objectType": "Activity", "id": ACTIVITY},
        **extra,
    }


def document() -> dict[str, Any]:
    return {"name": str(uuid.uuid4()), "location": {"name": str(uuid.uuid4())}}
