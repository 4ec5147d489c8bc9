"""A learner finishes, downloads the PDF from inside the LMS, and its QR code says valid."""

from __future__ import annotations

import pytest
from django.utils import timezone

from completion.models import Activity, CompletionCriteria, Item
from completion.risk.scoring import score_course
from lti_tool.models import Course, Membership
from tests.browser.conftest import screenshot
from tests.certificates.helpers import qr_urls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_completed_learner_downloads_a_pdf_whose_qr_code_opens_a_page_saying_valid(
    demo_server, page
):
    page.goto(demo_server.url + "/")
    page.get_by_role("link", name="Launch as learner").click()
    frame = page.frame_locator("iframe[title=Finishline]")
    frame.get_by_role("heading", name="My progress").wait_for(timeout=15000)

    # The learner finishes the course's one required page; scoring runs as the worker would.
    course = Course.objects.get(context_id="demo-course-safety-101")
    CompletionCriteria.objects.get_or_create(course=course)
    item = Item.objects.create(course=course, external_id="p1", kind="page", title="Induction",
                               source="api", position=0)  # fmt: skip
    membership = Membership.objects.get(course=course, person__name="Learner 1")
    now = timezone.now()
    Activity.objects.create(course=course, person_id=membership.person_id, item=item,
                            verb="completed", occurred_at=now, received_at=now,
                            source="api", source_id="done-1")  # fmt: skip
    score_course(course.pk, as_of=timezone.localdate())

    frame.get_by_role("link", name="My certificates and badges").click()
    frame.get_by_role("heading", name="My certificates").wait_for(timeout=15000)
    with page.expect_download() as download:
        frame.get_by_role("link", name="PDF").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    screenshot(page, "certificate-learner-downloads")

    (url,) = qr_urls(pdf)
    assert url.startswith(demo_server.url + "/certificates/verify/FL-")
    verify = page.context.new_page()
    verify.goto(url)
    verify.get_by_role("heading", name="Valid").wait_for(timeout=15000)
    assert verify.get_by_text("Learner 1").is_visible()
    assert verify.get_by_text("Verified (Ed25519").is_visible()
    screenshot(verify, "certificate-verification-page")
