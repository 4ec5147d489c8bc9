"""The embedded launch with cookies blocked, in a real browser: the tool on another site.

The platform page frames the tool and answers lti.put_data / lti.get_data as the LTI
postMessage Storage spec says (per origin, echoing message_id). The tool runs on `localhost`
and the platform on `127.0.0.1`, and Chromium blocks third-party cookies, so no cookie of the
tool's survives in the frame: the launch has to go through platform storage, or, for a
platform without it, through a new window opened before the one-time lti_message_hint is
spent (the platform here refuses a hint used twice, as Moodle does).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest

from lti_tool.models import Membership, UsedNonce
from tests.platform.server import Response

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLATFORM_STORAGE = """
window.__storage = {};
window.addEventListener("message", function (event) {
  var data = event.data || {};
  var reply = {subject: data.subject + ".response", message_id: data.message_id, key: data.key};
  var store = window.__storage[event.origin] = window.__storage[event.origin] || {};
  if (data.subject === "lti.put_data") { store[data.key] = data.value; reply.value = data.value; }
  else if (data.subject === "lti.get_data") {
    if (TAMPER) { reply.value = "state-of-another-login"; }
    else if (data.key in store) { reply.value = store[data.key]; }
    else { reply.error = {code: "bad_request", message: "no such key"}; }
  } else { return; }
  event.source.postMessage(reply, event.origin);
});
"""


def serve_platform_pages(platform, tool_url, *, storage, tamper=False):
    """The platform's course page, framing the tool: each visit starts a launch with a new
    one-time lti_message_hint, which the platform's authorization endpoint answers once."""

    def course(request):
        hint = platform.new_launch(sub="learner-1", redirect_uri=tool_url + "/lti/launch/")
        params = {
            "iss": platform.issuer,
            "client_id": platform.client_id,
            "login_hint": "learner-1",
            "lti_message_hint": hint,
            "lti_deployment_id": platform.deployment_id,
            "target_link_uri": tool_url + "/lti/launch/",
        }
        if storage:
            params["lti_storage_target"] = "_parent"
        script = PLATFORM_STORAGE.replace("TAMPER", json.dumps(tamper)) if storage else ""
        html = (
            f"<html><body><h1>Course page</h1><script>{script}</script>"
            f'<iframe title="Finishline" style="width:900px;height:600px" '
            f'src="{tool_url}/lti/login/?{urlencode(params)}"></iframe></body></html>'
        )
        return Response(body=html, content_type="text/html")

    platform.route("GET", "/course", course)


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


@pytest.fixture
def page(cookieless_browser):
    context = cookieless_browser.new_context(viewport={"width": 1100, "height": 800})
    yield context.new_page()
    context.close()


@pytest.fixture
def tool_url(live_server, settings):
    url = live_server.url.replace("127.0.0.1", "localhost")
    settings.TOOL_BASE_URL = url
    return url


def test_without_the_cookie_the_launch_completes_through_platform_storage(
    platform, tool_url, request, caplog
):
    tab = request.getfixturevalue("page")
    caplog.set_level(logging.INFO, logger="finishline.launch")
    serve_platform_pages(platform, tool_url, storage=True)
    tab.goto(platform.base_url + "/course")
    frame = tab.frame_locator("iframe[title=Finishline]")
    frame.get_by_role("heading", name="My progress").wait_for(timeout=15000)
    assert Membership.objects.filter(person__sub="learner-1").exists()
    # The cookie did not come back: the launch went through the storage check page.
    assert any(r.getMessage().startswith("lti_storage_check") for r in caplog.records)
    stored = tab.evaluate("window.__storage")
    assert list(stored) == [tool_url]  # keyed by the tool's origin, as the platform sees it
    assert sorted(k.split("_")[0] for k in stored[tool_url]) == ["nonce", "state"]


def test_a_state_missing_from_platform_storage_stops_the_launch(platform, tool_url, request):
    tab = request.getfixturevalue("page")
    serve_platform_pages(platform, tool_url, storage=True, tamper=True)
    tab.goto(platform.base_url + "/course")
    frame = tab.frame_locator("iframe[title=Finishline]")
    frame.get_by_text("did not start in this browser").wait_for(timeout=15000)
    assert not UsedNonce.objects.exists()
    assert not Membership.objects.exists()


def test_without_platform_storage_a_new_window_launches_before_the_hint_is_spent(
    platform, tool_url, request
):
    tab = request.getfixturevalue("page")
    serve_platform_pages(platform, tool_url, storage=False)
    tab.goto(platform.base_url + "/course")
    frame = tab.frame_locator("iframe[title=Finishline]")
    link = frame.get_by_role("link", name="Open Finishline in a new window")
    link.wait_for(timeout=15000)
    assert platform.spent_hints == []  # the frame never went to the platform
    with tab.expect_popup() as popup_info:
        link.click()
    window = popup_info.value
    window.get_by_role("heading", name="My progress").wait_for(timeout=15000)
    assert len(platform.spent_hints) == 1  # the window spent the hint, once
    assert platform.refused_hints == []
    assert "lt=" not in window.url
    # The window works on: a link to another page carries the session without a cookie.
    window.context.clear_cookies()
    window.get_by_role("navigation", name="Main").get_by_role("link", name="My data").click()
    window.get_by_role("heading", name="My data").wait_for(timeout=15000)
    assert Membership.objects.filter(person__sub="learner-1").exists()
