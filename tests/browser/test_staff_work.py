"""Staff work sized to people, in a real browser: message everyone in a roster filter and read
what became of it; page, sort and filter the advisor cases; override a learner to Completed and
find their certificate; page and sort the course's certificates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.conftest import screenshot
from tests.browser.test_journeys import check_page, launch, open_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cohort(demo_server):
    from django.core.management import call_command

    call_command("generate_cohort", course="demo-course-safety-101", learners=40, days=21,
                 seed=3, verbosity=0)  # fmt: skip
    call_command("score_risk", verbosity=0)
    return demo_server


def audit_page(page, audit, url, lt, name):
    """axe on a tool page, in the audit tab with the launch's cookies (its session binding)."""
    audit.context.add_cookies(page.context.cookies())
    open_as(audit, url, lt)
    assert audit.get_by_text("Please open Finishline from your course").count() == 0
    check_page(audit, name)


def tool_frame(page):
    tool = page.locator("iframe[title=Finishline]").element_handle().content_frame()
    assert tool is not None
    return tool


def test_the_instructor_messages_everyone_in_a_filter(cohort, page, audit):
    from interventions.models import OutboundMessage

    frame, lt = launch(page, cohort, "instructor")
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Learners").click()
    frame.get_by_role("combobox", name="Risk").select_option("red")
    frame.get_by_role("button", name="Filter").click()
    tool_frame(page).wait_for_url("**tier=red**")
    action = frame.get_by_role("link", name="Message these")
    count = int(action.inner_text().split()[2])
    assert count >= 1
    action.click()
    frame.get_by_role("heading", name=f"Message these {count} learner").wait_for()
    assert frame.get_by_text("Risk: Red").is_visible()
    frame.get_by_label("Subject").fill("A catch-up session on Thursday")
    frame.get_by_role("textbox", name="Message").fill(
        "Hi {{ first_name }}, you are {{ percent }}% through {{ course }}. Join us on Thursday?"
    )
    frame.get_by_role("button", name="Preview").click()
    frame.get_by_role("heading", name="Preview for the first learner").wait_for()
    preview = frame.locator("section").filter(has_text="Preview for the first learner")
    assert "{{" not in preview.inner_text()
    assert "% through Workplace Safety 101" in preview.inner_text()
    screenshot(page, "staff-bulk-message-preview")
    frame.get_by_role("button", name=f"Send to {count} learner").click()
    frame.get_by_role("heading", name="Your message").wait_for()
    status = frame.get_by_role("status").inner_text()
    # Sent now, or held by quiet hours (the demo's learners sleep 21:00-08:00 UTC), or not sent.
    assert f"of {count} learner" in status
    screenshot(page, "staff-bulk-message-confirmation")
    copies = OutboundMessage.objects.filter(reason__startswith="staff:bulk:")
    assert 1 <= copies.count() <= count
    # The copy is in the learner's outbox on their page, as any message is.
    first = copies.select_related("membership__person").first()
    bulk_url = tool_frame(page).url
    tool_frame(page).goto(f"{cohort.url}/messages/course/learners/{first.membership_id}/")
    outbox = frame.get_by_role("table").filter(has_text="The outbox")
    outbox.get_by_text("A catch-up session on Thursday").wait_for(state="attached")
    screenshot(page, "staff-bulk-message-in-learner-outbox")
    audit_page(page, audit, bulk_url, lt, "bulk message confirmation")


def test_the_instructor_pages_sorts_and_filters_advisor_cases(cohort, page, audit):
    from interventions.models import AdvisorCase
    from lti_tool.models import Course, Membership

    course = Course.objects.get(context_id="demo-course-safety-101")
    teacher = Membership.objects.filter(course=course, role="instructor").first().person
    learners = list(Membership.objects.filter(course=course, role="learner").order_by("pk")[:30])
    now = timezone.now()
    for n, m in enumerate(learners * 2):  # 60 open cases, one a day older each
        AdvisorCase.objects.create(membership=m, owner=teacher if n % 2 else None,
                                   reason=f"Case number {n}", due_at=now + timedelta(days=2),
                                   opened_at=now - timedelta(days=n))  # fmt: skip
    AdvisorCase.objects.create(
        membership=learners[0], owner=teacher, reason="Over the cap",
        status=AdvisorCase.Status.BATCHED, due_at=now, opened_at=now,
    )  # fmt: skip

    frame, lt = launch(page, cohort, "instructor")
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Interventions").click()
    cases = frame.locator("#cases")
    cases.get_by_text("Page 1 of 2").wait_for()
    assert cases.get_by_text("60 cases.").is_visible()
    assert cases.get_by_role("link", name="1 more case in today's digest").is_visible()
    cases.get_by_role("link", name="Opened").click()  # oldest first
    tool_frame(page).wait_for_url("**sort=age**")
    cases = frame.locator("#cases")
    assert cases.locator("tbody tr").first.get_by_text("Case number 59").is_visible()
    cases.get_by_role("combobox", name="Assignee").select_option("mine")
    cases.get_by_role("button", name="Show").click()
    tool_frame(page).wait_for_url("**assignee=mine**")
    cases = frame.locator("#cases")
    cases.get_by_text("30 cases.").wait_for()
    assert cases.get_by_text("Page 1 of 1").is_visible()
    assert cases.locator("tbody tr").first.get_by_text("Case number 59").is_visible()
    screenshot(page, "staff-cases-mine-oldest-first")
    cases.get_by_role("combobox", name="Assignee").select_option("")
    cases.get_by_role("button", name="Show").click()
    tool_frame(page).wait_for_url("**assignee=&**")
    frame.locator("#cases").get_by_role("link", name="Next").click()
    tool_frame(page).wait_for_url("**page=2**")
    frame.locator("#cases").get_by_text("Page 2 of 2").wait_for()
    audit_page(page, audit, f"{cohort.url}/messages/course/?sort=age&page=2", lt, "cases page 2")


def test_an_override_to_completed_issues_the_certificate(cohort, page):
    from lti_tool.models import Course, Membership

    course = Course.objects.get(context_id="demo-course-safety-101")
    learner = Membership.objects.filter(course=course, role="learner").order_by("pk").first()
    name = learner.person.name
    _, lt = launch(page, cohort, "instructor")
    open_as(page, f"{cohort.url}/messages/course/learners/{learner.pk}/", lt)
    page.get_by_role("link", name="Override status").click()
    page.get_by_label("Status").select_option("completed")
    page.get_by_label("Reason").fill("Passed the practical assessment on site")
    page.get_by_role("button", name="Save status").click()
    page.wait_for_url("**done=status**")
    open_as(page, f"{cohort.url}/certificates/course/", lt)
    row = page.get_by_role("row").filter(has_text=name)
    row.get_by_text("Awarded by staff override: Passed the practical assessment on site").wait_for()
    screenshot(page, "staff-override-completed-certificate")


def test_the_instructor_pages_and_sorts_the_certificates_keeping_the_search(cohort, page, audit):
    from certificates.models import Certificate
    from lti_tool.models import Course, Membership

    course = Course.objects.get(context_id="demo-course-safety-101")
    person = Membership.objects.filter(course=course, role="learner").first().person
    now = timezone.now()
    Certificate.objects.bulk_create(
        Certificate(
            serial=f"PAGE-{i:04d}", deployment=course.deployment, person=person, course=course,
            learner_name=f"Holder {i:02d}", title=course.title, issued_at=now - timedelta(days=i),
            status_index=5000 + i, signature="sig",
        )
        for i in range(60)
    )  # fmt: skip

    frame, lt = launch(page, cohort, "instructor")
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Certificates").click()
    frame.get_by_role("heading", name="Certificates").wait_for()
    frame.get_by_label("Learner or serial").fill("holder")
    frame.get_by_role("button", name="Search").click()
    tool_frame(page).wait_for_url("**q=holder**")
    frame.get_by_text("60 certificates, 50 a page.").wait_for()
    frame.get_by_role("link", name="Learner", exact=True).click()  # A to Z
    tool_frame(page).wait_for_url("**sort=name**")
    rows = frame.locator("tbody tr")
    assert rows.first.get_by_text("Holder 00").is_visible()
    frame.get_by_role("navigation", name="Pages of certificates").get_by_role(
        "link", name="Next"
    ).click()
    tool_frame(page).wait_for_url("**page=2**")
    frame.get_by_text("Page 2 of 2").wait_for()
    url = tool_frame(page).url
    assert "q=holder" in url  # the search and the order are kept
    assert "sort=name" in url
    assert frame.locator("tbody tr").count() == 10
    assert frame.locator("tbody tr").first.get_by_text("Holder 50").is_visible()
    screenshot(page, "staff-certificates-page-2-by-name")
    audit_page(page, audit, url, lt, "certificates page 2")
