"""Staff and admin pages of the business outcomes, through real signed launch tokens."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from interventions.models import AttributionSettings, EnrolmentRecord
from lti_tool.models import AuditEntry
from tests.business import complete, course_with_page, learner, token
from tests.completion.riskdata import day

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    course, page = course_with_page(title="Python Basics", due_on=day(5).date())
    follow, _follow_page = course_with_page(title="Data Analysis", deployment=course.deployment)
    done = [learner(course, f"done{n}") for n in range(3)]
    for m in done:
        complete(course, page, m, on=1)
    learner(follow, "", person=done[0].person, at=day(8))
    learner(course, "late")
    teacher = learner(course, "teacher")
    teacher.role = "instructor"
    teacher.save()
    AttributionSettings.objects.create(
        deployment=course.deployment,
        currency="EUR",
        programme_fee=1000,
        support_cost_per_learner=40,
        followup_cost_per_learner=60,
        baseline_start=day(-400).date(),
        baseline_end=day(-300).date(),
    )
    return course, teacher


def test_staff_see_rates_attribution_labels_and_the_what_if(course):
    course, teacher = course
    lt = token(course, teacher, "instructor")
    page = Client().get(reverse("business:course"), {"points": "20"}, HTTP_X_FINISHLINE_LAUNCH=lt)
    body = page.content.decode()
    assert page.status_code == 200
    assert "Re-enrolment and refunds" in body
    assert "measured" in body
    assert "assumed" in body
    assert "A 20-point improvement is worth" in body
    assert "Suggested next courses" in body
    assert "most-completed" in body
    learner_lt = token(course, learner(course, "pat"), "learner")
    assert (
        Client()
        .get(reverse("business:course"), {}, HTTP_X_FINISHLINE_LAUNCH=learner_lt)
        .status_code
        == 403
    )
    assert Client().get(reverse("business:course")).status_code == 401


def test_only_admins_see_the_deployment_page_and_change_its_settings(course):
    course, teacher = course
    admin_lt = token(course, teacher, "admin")
    page = Client().get(reverse("business:deployment"), {}, HTTP_X_FINISHLINE_LAUNCH=admin_lt)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Python Basics" in body
    assert "Data Analysis" in body
    assert "A 10-point improvement is worth <strong>EUR" in body
    instructor_lt = token(course, teacher, "instructor")
    assert (
        Client()
        .get(reverse("business:deployment"), {}, HTTP_X_FINISHLINE_LAUNCH=instructor_lt)
        .status_code
        == 403
    )

    url = reverse("business:settings")
    admin_lt = token(course, teacher, "admin")  # the instructor launch changed the role back
    values = {"lt": admin_lt, "currency": "GBP", "programme_fee": "800",
              "support_cost_per_learner": "30", "followup_cost_per_learner": "20",
              "baseline_start": "2025-01-01", "baseline_end": "2025-06-30"}  # fmt: skip
    assert Client().post(url, values).status_code == 200
    row = AttributionSettings.objects.get()
    assert (row.currency, row.programme_fee) == ("GBP", 800)
    assert AuditEntry.objects.filter(action="business.attribution_settings_changed").exists()
    backwards = {**values, "baseline_start": "2025-07-01"}
    refused = Client().post(url, backwards)
    assert refused.status_code == 400
    assert "ends before it starts" in refused.content.decode()
    instructor_lt = token(course, teacher, "instructor")
    assert Client().post(url, {**values, "lt": instructor_lt}).status_code == 403


def test_admins_upload_records_all_or_nothing(course):
    course, teacher = course
    admin_lt = token(course, teacher, "admin")
    url = reverse("business:records")
    good = f"learner,course,date,amount,refund\ndone0,{course.context_id},2026-01-05,900,no\n"
    ok = Client().post(url, {"lt": admin_lt, "records": SimpleUploadedFile("r.csv", good.encode())})
    assert ok.status_code == 200
    assert "1 stored" in ok.content.decode()
    bad = good + "ghost,nowhere,2026-01-05,1,no\n"
    refused = Client().post(
        url, {"lt": admin_lt, "records": SimpleUploadedFile("r.csv", bad.encode())}
    )
    assert refused.status_code == 400
    assert "line 3" in refused.content.decode()
    assert EnrolmentRecord.objects.count() == 1
