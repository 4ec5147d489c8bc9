"""The production stack, running, tried out the way an admin would: the demo LMS (switched on
with FINISHLINE_DEMO_LMS=on, served under a second host name) launches Finishline over https
in Chromium, cross-site, as instructor and as learner; with third-party cookies blocked (the
frame keeps the tool's partitioned cookies); and in a frame that keeps no cookie at all,
where, the demo LMS offering no platform storage (as Moodle), a new window launches afresh.
`/readyz/` is green and the metrics page counted the launches. A normal production start
serves no demo LMS.

Runs only against a stack that is up (`.ci/run` starts one with `./run production`):
FINISHLINE_STACK_ENV names its environment file (KEY=VALUE lines, as systemd's
EnvironmentFile), from which the test takes the public URL, the demo LMS's URL and the
metrics token.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

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


@pytest.fixture(scope="module")
def env():
    env = stack_env()
    assert env.get("FINISHLINE_DEMO_LMS") == "on", "start the stack with FINISHLINE_DEMO_LMS=on"
    lms, tool = urlsplit(env["FINISHLINE_DEMO_LMS_URL"]), urlsplit(env["FINISHLINE_BASE_URL"])
    assert lms.hostname != tool.hostname, "the demo LMS must be on another site than the tool"
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


def launches_counted(env: dict[str, str]) -> float:
    """The launches the metrics page has counted so far, all message types and processes."""
    status, text, headers = fetch(
        env["FINISHLINE_BASE_URL"] + "/metrics",
        {"Authorization": f"Bearer {env['FINISHLINE_METRICS_TOKEN']}"},
    )
    assert status == 200, text[:500]
    assert headers.get("X-Request-ID")
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("finishline_lti_launches_total{")
    )


def assert_cross_site_cookies(context, tool_url: str) -> None:
    cookies = [c for c in context.cookies(tool_url) if c["name"] != "csrftoken"]
    assert cookies, "the tool set no cookie"
    assert all(c["secure"] and c["sameSite"] == "None" for c in cookies), cookies


def wait_or_screenshot(locator, page, name: str) -> None:
    try:
        locator.wait_for(timeout=30000)
    except Exception:
        (ROOT / "artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "artifacts" / f"production-{name}-failure.png"))
        raise


@pytest.fixture(scope="module")
def cookieless_browser(playwright_driver):
    """Chromium blocking third-party cookies (as its default now is)."""
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    browser = playwright_driver.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, "--test-third-party-cookie-phaseout"],
    )
    yield browser
    browser.close()


def test_the_demo_lms_launches_instructor_and_learner_over_https_cross_site(browser, env):
    tool_url, lms_url = env["FINISHLINE_BASE_URL"], env["FINISHLINE_DEMO_LMS_URL"]
    before = launches_counted(env)
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.goto(lms_url + "/")
    page.get_by_role("link", name="Launch as instructor").click()
    assert page.url.startswith(lms_url + "/demo/lms/")
    frame = page.frame_locator("iframe[title=Finishline]")
    heading = frame.get_by_role("heading", name="Today in Workplace Safety 101")
    wait_or_screenshot(heading, page, "instructor")
    assert page.locator("iframe[title=Finishline]").get_attribute("src").startswith(tool_url)
    assert_cross_site_cookies(context, tool_url)

    page.goto(lms_url + "/")
    page.get_by_role("link", name="Launch as learner").click()
    wait_or_screenshot(frame.get_by_role("heading", name="My progress"), page, "learner")
    assert frame.get_by_text("Learner 1").first.is_visible()
    assert_cross_site_cookies(context, tool_url)
    # The demo LMS offers no admin launch outside the local modes.
    assert page.goto(lms_url + "/demo/lms/?as=admin").status == 404
    context.close()
    assert launches_counted(env) - before == 2


def test_with_third_party_cookies_blocked_the_frame_keeps_partitioned_cookies(
    cookieless_browser, env
):
    """Chromium blocking third-party cookies still keeps the tool's `Partitioned` cookies,
    keyed to the LMS's site: the embedded launch completes in the frame."""
    tool_url, lms_url = env["FINISHLINE_BASE_URL"], env["FINISHLINE_DEMO_LMS_URL"]
    before = launches_counted(env)
    context = cookieless_browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.goto(lms_url + "/")
    page.get_by_role("link", name="Launch as learner").click()
    frame = page.frame_locator("iframe[title=Finishline]")
    wait_or_screenshot(frame.get_by_role("heading", name="My progress"), page, "partitioned")
    cookies = [c for c in context.cookies(tool_url) if c["name"] != "csrftoken"]
    assert cookies, "the frame kept no cookie of the tool's"
    lms_site = "https://" + urlsplit(lms_url).hostname
    assert all(c.get("partitionKey") == lms_site for c in cookies), cookies
    assert_cross_site_cookies(context, tool_url)
    context.close()
    assert launches_counted(env) - before == 1


# The frame's page loads here all come from the LMS's pages (the course page's frame, the
# LMS's form post): cross-site.
def in_a_frame(request) -> bool:
    try:
        return request.frame.parent_frame is not None
    except PlaywrightError:  # a new window's first page load, made before its frame exists
        return False


FRAME_NAVIGATION = {
    "sec-fetch-dest": "iframe",
    "sec-fetch-mode": "navigate",
    "sec-fetch-site": "cross-site",
}


def cookieless_frames(playwright_driver):
    """A route handler making the browser keep no cookie at all in another site's frame,
    partitioned or not (as a browser blocking all of a frame's cookies does): the frame's page
    loads are fetched outside the browser's cookie jar, and their Set-Cookie dropped."""

    def handle(route, request) -> None:
        if not request.is_navigation_request() or not in_a_frame(request):
            route.continue_()
            return
        fetcher = playwright_driver.request.new_context(ignore_https_errors=True)
        try:
            # What the browser sends for a frame's page load (Fetch Metadata included, which
            # Playwright does not report among the request's headers).
            headers = {k: v for k, v in request.all_headers().items() if not k.startswith(":")}
            headers.update(FRAME_NAVIGATION)
            answer = fetcher.fetch(request, headers=headers, max_redirects=0)
            headers = {k: v for k, v in answer.headers.items() if k.lower() != "set-cookie"}
            route.fulfill(status=answer.status, headers=headers, body=answer.body())
        finally:
            fetcher.dispose()

    return handle


def test_with_no_cookie_in_the_frame_a_new_window_starts_a_fresh_launch(
    browser, playwright_driver, env
):
    """Moodle-style: no platform storage, and the demo LMS gives each lti_message_hint once,
    so the new window must launch before the frame spends it."""
    tool_url, lms_url = env["FINISHLINE_BASE_URL"], env["FINISHLINE_DEMO_LMS_URL"]
    before = launches_counted(env)
    context = browser.new_context(ignore_https_errors=True)
    context.route(tool_url + "/**", cookieless_frames(playwright_driver))
    page = context.new_page()
    page.goto(lms_url + "/")
    page.get_by_role("link", name="Launch as learner").click()
    frame = page.frame_locator("iframe[title=Finishline]")
    link = frame.get_by_role("link", name="Open Finishline in a new window")
    wait_or_screenshot(link, page, "no-cookie-frame")
    assert context.cookies(tool_url) == []  # the frame kept none of the tool's cookies
    with page.expect_popup() as popup:
        link.click()
    window = popup.value
    wait_or_screenshot(window.get_by_role("heading", name="My progress"), window, "new-window")
    assert window.url.startswith(tool_url)
    assert_cross_site_cookies(context, tool_url)
    context.close()
    assert launches_counted(env) - before == 1


def test_readyz_is_green_and_metrics_need_the_token(env):
    stack_url = env["FINISHLINE_BASE_URL"]
    deadline = time.monotonic() + 150  # the worker's first heartbeat is within a minute
    while True:
        status, body, _ = fetch(stack_url + "/readyz/")
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert status == 200, body
    assert json.loads(body)["status"] == "ready"
    assert fetch(stack_url + "/metrics")[0] == 404  # no token, no page
    status, text, _ = fetch(
        stack_url + "/metrics", {"Authorization": f"Bearer {env['FINISHLINE_METRICS_TOKEN']}"}
    )
    assert "finishline_ready 1.0" in text


NORMAL_START = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
host = settings.ALLOWED_HOSTS[0]
paths = ["/demo/lms/?as=instructor", "/demo/lms/?as=learner", "/demo/platform/jwks/",
         "/demo/platform/auth/", "/demo/mail/"]
print(json.dumps({
    "demo_lms": settings.DEMO_LMS,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "statuses": {p: client.get(p, secure=True, HTTP_HOST=host).status_code for p in paths},
    "home": client.get("/", secure=True, HTTP_HOST=host).content.decode(),
}))
"""


def run_django(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    process_env = {**os.environ, **env, "DJANGO_SETTINGS_MODULE": "config.settings"}
    process_env.pop("FINISHLINE_ENV", None)  # production, as the stack runs it
    process_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=process_env, capture_output=True, text=True
    )


def test_a_normal_production_start_serves_no_demo_lms(env):
    """The same installation, database (with the demo seeded) and all, without the switch."""
    normal = {k: v for k, v in env.items() if not k.startswith("FINISHLINE_DEMO_LMS")}
    result = run_django(normal, NORMAL_START)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["demo_lms"] is False
    assert urlsplit(env["FINISHLINE_DEMO_LMS_URL"]).hostname not in seen["allowed_hosts"]
    assert set(seen["statuses"].values()) == {404}, seen["statuses"]
    assert "Launch as" not in seen["home"]
    # A switch that is not plainly on or off stops the start, as does a URL without the switch.
    for bad in (
        {"FINISHLINE_DEMO_LMS": "yes"},
        {"FINISHLINE_DEMO_LMS_URL": env["FINISHLINE_DEMO_LMS_URL"]},
    ):
        refused = run_django({**normal, **bad}, "import django; django.setup()")
        assert refused.returncode != 0
        assert "ImproperlyConfigured" in refused.stderr
        assert "FINISHLINE_DEMO_LMS" in refused.stderr
