from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_demo_instructor_launch_renders_the_dashboard_inside_the_lms_iframe(demo_server, page):
    page.goto(demo_server.url + "/")
    page.get_by_role("link", name="Launch as instructor").click()
    frame = page.frame_locator("iframe[title=Finishline]")
    frame.get_by_role("heading", name="Today in Workplace Safety 101").wait_for(timeout=15000)
    assert frame.get_by_text("Ines Instructor").is_visible()
    assert frame.get_by_text("Workplace Safety 101").first.is_visible()
    screenshot(page, "demo-instructor-launch")


def test_demo_learner_launch_renders_the_progress_page_inside_the_lms_iframe(demo_server, page):
    page.goto(demo_server.url + "/")
    page.get_by_role("link", name="Launch as learner").click()
    frame = page.frame_locator("iframe[title=Finishline]")
    frame.get_by_role("heading", name="My progress").wait_for(timeout=15000)
    assert frame.get_by_text("Learner 1").first.is_visible()
    screenshot(page, "demo-learner-launch")
