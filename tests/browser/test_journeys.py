"""The three journeys of the issue in a real browser, with axe-core on every page they visit.

Instructor: launch, filter to the red tier, open a learner, send a nudge, see it in the outbox.
Learner: launch, see progress, pause, download a certificate. Admin: launch, open the console
and see sync health. Every page must have no serious or critical axe violations, and must not
scroll sideways at Canvas's and Moodle's narrowest iframe width (320 px).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "var" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def cohort(demo_server):
    call_command("generate_cohort", course="demo-course-safety-101", learners=40, days=21,
                 seed=3, verbosity=0)  # fmt: skip
    call_command("score_risk", verbosity=0)
    return demo_server


def launch(page, server, who):
    page.goto(server.url + "/")
    page.get_by_role("link", name=f"Launch as {who}").click()
    frame = page.frame_locator("iframe[title=Finishline]")
    frame.locator("h1").first.wait_for(timeout=20000)
    # The session secret is in the page, never in its address.
    tool = next(
        f for f in page.frames if f.url.startswith(server.url + "/") and f != page.main_frame
    )
    assert "lt=" not in tool.url
    return frame, tool.locator('meta[name="finishline-launch"]').get_attribute("content")


def open_as(page, url, lt, *, cookies_from=None):
    """Open a tool page directly (for the checks below), sending the session as pages do.

    A launch session whose cookie the browser has already sent is bound to that cookie, so
    another tab needs the launching tab's cookies (`cookies_from`). The page must answer: a
    check of the "open Finishline from your course" refusal would prove nothing."""
    if cookies_from is not None:
        page.context.add_cookies(cookies_from.context.cookies())
    page.set_extra_http_headers({"X-Finishline-Launch": lt})
    response = page.goto(url)
    assert response is not None, url
    assert response.status < 400, f"{url}: {response.status}"


def check_page(page, name):
    """axe-core finds no serious or critical violation; nothing scrolls sideways at 320 px."""
    assert AXE.exists(), "axe-core is installed by ./run test (npm install into var/axe)"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:120]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": 320, "height": 700})
    overflow = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size({"width": width, "height": 800})
    assert overflow <= 322, f"{name} scrolls sideways at 320 px ({overflow} px wide)"


def test_the_instructor_finds_a_red_learner_and_sends_a_nudge(cohort, page, audit):
    frame, lt = launch(page, cohort, "instructor")
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Learners").click()
    frame.get_by_role("combobox", name="Risk").select_option("red")
    frame.get_by_role("button", name="Filter").click()
    # "N learners match" is on the unfiltered page too: wait for the filtered page itself.
    tool = page.locator("iframe[title=Finishline]").element_handle().content_frame()
    assert tool is not None
    tool.wait_for_url("**tier=red**")
    frame.get_by_text("learners match").wait_for()
    assert frame.locator("td .tier-red").count() >= 1
    assert frame.locator("td .tier-green").count() == 0
    screenshot(page, "journey-instructor-red-tier")
    frame.locator("tbody tr td a").first.click()
    frame.get_by_role("heading", name="Act").wait_for()
    frame.get_by_label("Subject").fill("Checking in")
    frame.get_by_role("textbox", name="Message").fill(
        "You were doing well last week. Can I help with Module 2?"
    )
    frame.get_by_role("button", name="Send message").click()
    frame.get_by_text("in the outbox below").wait_for()
    outbox = frame.get_by_role("table").filter(has_text="The outbox")
    assert outbox.get_by_text("Checking in").is_visible()
    screenshot(page, "journey-instructor-nudge-in-outbox")
    frame.get_by_role("combobox", name="Outcome").select_option("withdrawn")
    frame.get_by_label("Note").fill("moved abroad")
    frame.get_by_role("button", name="Record outcome").click()
    frame.get_by_text("Outcome recorded: withdrawn.").wait_for()
    assert frame.get_by_text("moved abroad").first.is_visible()
    for path in ("/course/risk/?tier=red", "/course/overview/", "/certificates/course/"):
        open_as(audit, f"{cohort.url}{path}", lt, cookies_from=page)
        check_page(audit, path)


def test_the_learner_sees_progress_pauses_and_downloads_a_certificate(cohort, page, audit):
    from django.utils import timezone

    from completion.models import Activity, Item
    from completion.risk.scoring import score_course
    from lti_tool.models import Course, Membership

    frame, lt = launch(page, cohort, "learner")
    frame.get_by_role("heading", name="My progress").wait_for()
    assert frame.get_by_role("progressbar").count() == 1
    screenshot(page, "journey-learner-progress")
    frame.get_by_role("link", name="Pause or resume my course").click()
    until = (timezone.localdate() + timezone.timedelta(days=7)).isoformat()
    frame.get_by_label("Return date").fill(until)
    frame.get_by_label("Why are you pausing?").fill("Family matters")
    frame.get_by_role("button", name="Pause my course").click()
    frame.get_by_text("You are paused until").wait_for()
    frame.get_by_role("button", name="Resume now").click()
    frame.get_by_role("button", name="Pause my course").wait_for()

    # The learner finishes every item; the next scoring issues the certificate.
    course = Course.objects.get(context_id="demo-course-safety-101")
    me = Membership.objects.get(course=course, person__name="Learner 1")
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(course=course, person_id=me.person_id, item=item, verb="completed",
                 occurred_at=now, received_at=now, source="api", source_id=f"fin-{item.pk}",
                 score=0.95 if item.kind == "assessment" else None)
        for item in Item.objects.filter(course=course)
    )  # fmt: skip
    score_course(course.pk, as_of=timezone.localdate())
    open_as(page, f"{cohort.url}/certificates/mine/", lt)
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF").first.click()
    assert download.value.path().read_bytes().startswith(b"%PDF")
    screenshot(page, "journey-learner-certificate")
    for path in ("/me/progress/", "/certificates/mine/", "/messages/pause/", "/me/data/"):
        open_as(audit, f"{cohort.url}{path}", lt, cookies_from=page)
        check_page(audit, path)


def test_the_admin_sees_sync_health_in_the_console(cohort, page, audit):
    frame, lt = launch(page, cohort, "admin")
    frame.get_by_role("link", name="Admin console").first.click()
    frame.get_by_role("heading", name="Sync health").wait_for(timeout=15000)
    assert frame.get_by_text("Workplace Safety 101").first.is_visible()
    screenshot(page, "journey-admin-console")
    open_as(audit, f"{cohort.url}/console/", lt, cookies_from=page)
    check_page(audit, "/console/")
