"""The instructor edits the completion criteria in a real browser: searches the item picker,
marks a quiz required with a pass mark, adds a prerequisite, sets a warning signal's threshold,
saves, sees the confirmation, the path and the saved values; then the learner's page shows the
quiz locked behind its prerequisite. axe-core finds no serious violation on the editor and it
does not scroll sideways at 320 px."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from completion.models import CompletionCriteria
from tests.browser.conftest import screenshot
from tests.browser.test_journeys import check_page, launch, open_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUIZ, READING = "Module 6 quiz", "Module 6 reading"
BEHIND = "A fifth of the course behind schedule"


@pytest.fixture
def demo(demo_server):
    call_command("generate_cohort", course="demo-course-safety-101", learners=20, days=14,
                 seed=3, verbosity=0)  # fmt: skip
    return demo_server


def test_the_instructor_edits_criteria_and_the_learner_finds_the_quiz_locked(demo, page, audit):
    frame, _ = launch(page, demo, "instructor")
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    frame.get_by_role("heading", name="Completion criteria").wait_for()

    # The search narrows the picker to the quiz as one types.
    frame.get_by_role("searchbox", name="Find an item").fill("module 6 quiz")
    picker = frame.locator("#item-picker tbody")
    frame.get_by_text("1 of").wait_for()
    assert picker.locator("tr:visible").count() == 1
    assert picker.get_by_role("rowheader", name=QUIZ).is_visible()
    assert not picker.get_by_role("rowheader", name=READING).is_visible()

    frame.get_by_role("checkbox", name=f"Required for {QUIZ}").check()
    frame.get_by_role("spinbutton", name=f"Pass mark of {QUIZ}, percent").fill("75")
    frame.get_by_role("combobox", name="Pair 1: item").select_option(label=QUIZ)
    frame.get_by_role("combobox", name="Pair 1: requires").select_option(label=READING)
    # A warning signal's threshold, in the unit shown next to it (percent of the course).
    behind = frame.get_by_role("spinbutton", name=BEHIND, exact=True)
    assert behind.get_attribute("placeholder") == "20"  # empty: the default
    behind.fill("25")
    screenshot(page, "criteria-editor-filled")
    frame.get_by_role("button", name="Save criteria").click()

    frame.get_by_text("Completion criteria saved").wait_for()
    expect(frame.get_by_text("Completion criteria saved")).to_be_in_viewport()
    path = frame.get_by_role("region", name="Prerequisite path")
    assert path.get_by_role("img", name="Prerequisite path").is_visible()
    steps = path.get_by_role("listitem")
    assert steps.nth(0).inner_text() == f"Step 1: {READING}"
    assert steps.nth(1).inner_text() == f"Step 2: {QUIZ} (requires {READING})"
    # The saved values are shown again.
    mark = frame.get_by_role("spinbutton", name=f"Pass mark of {QUIZ}, percent")
    assert mark.input_value() == "75"
    assert frame.get_by_role("spinbutton", name=BEHIND, exact=True).input_value() == "25"
    screenshot(page, "criteria-editor-saved")
    row = CompletionCriteria.objects.get(course__context_id="demo-course-safety-101")
    assert len(row.required_item_ids) == 1
    assert list(row.min_item_scores.values()) == [0.75]
    assert row.rule_settings == {"thresholds": {"behind_pace_20": 0.25}}  # as scoring reads it

    # The editor, path drawn, passes the page checks (axe, no sideways scroll at 320 px), in
    # a tab of its own with a new launch (a session refuses a second browser once used).
    _, lt = launch(page, demo, "instructor")
    open_as(audit, demo.url + "/course/criteria/", lt)
    audit.get_by_role("heading", name="Completion criteria").wait_for()
    check_page(audit, "criteria editor")
    screenshot(audit, "criteria-editor-page")
    audit.set_viewport_size({"width": 320, "height": 700})
    screenshot(audit, "criteria-editor-320")

    # The learner sees the quiz locked, with what to finish first.
    frame, _ = launch(page, demo, "learner")
    frame.get_by_role("heading", name="My progress").wait_for()
    locked = frame.get_by_role("listitem").filter(has_text=QUIZ)
    assert "Locked" in locked.inner_text()
    assert f"finish {READING} first" in locked.inner_text()
    screenshot(page, "criteria-learner-locked")
