"""The compliance lifecycle: Compliant, Due soon, Overdue, Expired, Failed, Renewal required,
in the course's own words, following the certificate's expiry; and the audit columns."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client

from certificates.models import Certificate, CertificateSettings
from completion.reports import compliance as reports
from completion.risk.services import update_criteria
from tests.certificates.helpers import complete, learner, one_page_course
from tests.completion.riskdata import day, enrol
from tests.helpers import token_for

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 1)


def facts(**kw):
    base = {"membership_id": 1, "course_id": 1, "course": "C", "name": "N", "email": "",
            "today": TODAY}  # fmt: skip
    return reports.LearnerFacts(**{**base, **kw})


def cred(**kw):
    return reports.CredentialFacts(serial="S1", issued_on=date(2025, 3, 1), **kw)


def test_each_lifecycle_status_from_progress_deadline_and_credential():
    assert reports.lifecycle(facts(status="completed")) == "compliant"
    assert reports.lifecycle(facts(status="in_progress", due_on=TODAY + timedelta(days=10))) == (
        "due_soon"
    )
    assert reports.lifecycle(facts(status="in_progress", due_on=TODAY + timedelta(days=90))) == ""
    assert reports.lifecycle(facts(status="overdue")) == "overdue"
    assert reports.lifecycle(facts(status="in_progress", percent_complete=100.0)) == "failed"
    lapsed = cred(expires_on=TODAY - timedelta(days=1))
    assert reports.lifecycle(facts(status="completed", credential=lapsed)) == "expired"
    renewal = cred(expires_on=TODAY + timedelta(days=20), renewal_from=TODAY - timedelta(days=5))
    assert reports.lifecycle(facts(status="completed", credential=renewal)) == "renewal_required"
    row = reports.shape_row(facts(status="completed", credential=lapsed,
                                  labels={"expired": "Lapsed"}))  # fmt: skip
    assert (row.lifecycle, row.certificate_id) == ("Lapsed", "S1")


def csv_of(course, teacher):
    lt = token_for(teacher, "instructor")
    answer = Client().get("/reports/compliance/", {"format": "csv"}, HTTP_X_FINISHLINE_LAUNCH=lt)
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


def test_the_report_follows_the_certificate_to_expiry_with_audit_fields(
    django_capture_on_commit_callbacks,
):
    course, page = one_page_course()
    CertificateSettings.objects.create(course=course, validity_months=12, renewal_window_days=30)
    update_criteria(course=course, values={"status_labels": {"expired": "Lapsed"}}, by="test")
    ada = learner(course, "ada", email="ada@example.com")
    teacher = enrol(course, "teach", role="instructor")
    teacher.person.name = "Grace Teacher"
    teacher.person.save()
    complete(course, page, ada, django_capture_on_commit_callbacks, on=1)
    cert = Certificate.objects.get(membership=ada)
    assert cert.expires_at is not None
    with time_machine.travel(day(3), tick=False):
        (row,) = csv_of(course, teacher)
    assert row["Compliance"] == "Compliant"
    assert row["Certificate id"] == cert.serial
    assert row["Completed on"] == cert.issued_at.date().isoformat()
    assert row["Expires on"] == cert.expires_at.date().isoformat()
    assert row["Instructor"] == "Grace Teacher"
    with time_machine.travel(cert.expires_at - timedelta(days=10), tick=False):
        assert csv_of(course, teacher)[0]["Compliance"] == "Renewal required"
    with time_machine.travel(cert.expires_at + timedelta(days=1), tick=False):
        assert csv_of(course, teacher)[0]["Compliance"] == "Lapsed"
