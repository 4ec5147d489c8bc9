"""The production stack, running: a launch over https in Chromium from an LMS on another site,
`/readyz/` green, and a metrics page that counted the launch.

Runs only against a stack that is up (`.ci/run` starts one with `./run production`):
FINISHLINE_STACK_ENV names its environment file (KEY=VALUE lines, as systemd's
EnvironmentFile), from which the test takes the public URL, the metrics token and what
`manage.py register_platform` needs to register this test's LMS with the stack.
"""

from __future__ import annotations

import html
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.platform.server import Response, TestPlatform

ENV_FILE = os.environ.get("FINISHLINE_STACK_ENV", "")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not ENV_FILE, reason="no production stack (FINISHLINE_STACK_ENV) to test"),
]
ROOT = Path(__file__).resolve().parents[2]


def stack_env() -> dict[str, str]:
    env = {}
    for line in Path(ENV_FILE).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the stack's self-signed certificate
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def lms_for(stack_url: str, lms: TestPlatform) -> None:
    """Course pages framing the tool, and the OIDC endpoint answering its login redirect."""

    def course(request):
        role = request.query.get("as", ["learner"])[0]
        login = (
            stack_url
            + "/lti/login/?"
            + urlencode(
                {
                    "iss": lms.issuer,
                    "client_id": lms.client_id,
                    "login_hint": f"{role}-1",
                    "lti_message_hint": role,
                    "lti_deployment_id": lms.deployment_id,
                    "target_link_uri": stack_url + "/lti/launch/",
                }
            )
        )
        page = (
            "<!doctype html><title>Course</title><h1>LMS course</h1>"
            f'<iframe title="Finishline" src="{html.escape(login)}" width="1000" height="700"'
            ' allow="clipboard-write"></iframe>'
        )
        return Response(body=page, content_type="text/html")

    def auth(request):
        query = {k: v[0] for k, v in request.query.items()}
        role = "Instructor" if query.get("lti_message_hint") == "instructor" else "Learner"
        body = lms.id_token_body(
            sub=query["login_hint"],
            nonce=query["nonce"],
            role=role,
            context_id="stack-course-1",
            **{"https://purl.imsglobal.org/spec/lti/claim/target_link_uri": query["redirect_uri"]},
        )
        form = (
            "<!doctype html><title>Launching</title>"
            f'<form method="post" action="{html.escape(query["redirect_uri"])}">'
            f'<input type="hidden" name="id_token" value="{lms.sign(body)}">'
            f'<input type="hidden" name="state" value="{html.escape(query["state"])}">'
            "</form><script>document.forms[0].submit()</script>"
        )
        return Response(body=form, content_type="text/html")

    lms.route("GET", "/course", course)
    lms.route("GET", "/auth", auth)


def register(lms: TestPlatform, env: dict[str, str]) -> None:
    command = [
        sys.executable,
        "manage.py",
        "register_platform",
        "--issuer", lms.issuer,
        "--client-id", lms.client_id,
        "--auth-login-url", lms.auth_login_url,
        "--auth-token-url", lms.token_url,
        "--jwks-url", lms.jwks_url,
        "--deployment-id", lms.deployment_id,
        "--name", "Stack test LMS",
    ]  # fmt: skip
    process_env = {**os.environ, **env, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run(command, cwd=ROOT, env=process_env, check=True, capture_output=True)


def test_a_cross_site_launch_over_https_then_readyz_green_and_metrics_counted(browser):
    env = stack_env()
    stack_url = env["FINISHLINE_BASE_URL"]
    # The LMS serves https with the stack's certificate (made for 127.0.0.1 and localhost; the
    # stack trusts it through FINISHLINE_OUTBOUND_CA_BUNDLE), under the name `localhost`: a
    # site other than the tool's 127.0.0.1.
    tls = (env["FINISHLINE_TLS_CERT"], env["FINISHLINE_TLS_KEY"])
    with TestPlatform(host="localhost", tls=tls) as lms:
        lms_for(stack_url, lms)
        register(lms, env)
        context = browser.new_context(ignore_https_errors=True)
        page = context.new_page()
        page.goto(lms.base_url + "/course?as=learner")
        frame = page.frame_locator("iframe[title=Finishline]")
        try:
            frame.get_by_role("heading", name="My progress").wait_for(timeout=30000)
        except Exception:
            (ROOT / "artifacts").mkdir(exist_ok=True)
            page.screenshot(path=str(ROOT / "artifacts" / "production-launch-failure.png"))
            raise
        cookies = [c for c in context.cookies(stack_url) if c["name"] != "csrftoken"]
        assert cookies, "the tool set no cookie"
        assert all(c["secure"] and c["sameSite"] == "None" for c in cookies), cookies
        context.close()

    deadline = time.monotonic() + 150  # the worker's first heartbeat is within a minute
    while True:
        status, body, _ = fetch(stack_url + "/readyz/")
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert status == 200, body
    assert json.loads(body)["status"] == "ready"

    assert fetch(stack_url + "/metrics")[0] == 404  # no token, no page
    status, text, headers = fetch(
        stack_url + "/metrics", {"Authorization": f"Bearer {env['FINISHLINE_METRICS_TOKEN']}"}
    )
    assert status == 200
    launches = [
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("finishline_lti_launches_total{")
    ]
    assert sum(launches) >= 1, text[:2000]
    assert "finishline_ready 1.0" in text
    assert headers.get("X-Request-ID")
