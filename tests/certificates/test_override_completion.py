"""An instructor's override to completed is a completion: certificate and write-back, noted as
awarded by staff override; an override to exempt issues nothing."""

from __future__ import annotations

import pytest
import time_machine

from certificates.models import Certificate, CertificateSettings, GradebookPost
from completion.models import Progress
from completion.risk.services import override_status
from lti_tool.models import AuditEntry, Deployment
from tests.certificates.helpers import learner, one_page_course
from tests.completion.riskdata import day
from tests.platform.services import Services

pytestmark = pytest.mark.django_db


def override(membership, status, capture, reason="Completed the course on paper"):
    with time_machine.travel(day(3), tick=False), capture(execute=True):
        override_status(membership=membership, status=status, reason=reason, by="person:7")


def test_an_override_to_completed_issues_the_certificate_noting_the_staff_override(
    django_capture_on_commit_callbacks,
):
    course, _ = one_page_course()
    ada = learner(course, "ada")
    override(ada, "completed", django_capture_on_commit_callbacks)
    progress = Progress.objects.get(membership=ada)
    assert progress.status == "completed"
    assert not progress.criteria_met  # the criteria were not met: staff decided
    cert = Certificate.objects.get(membership=ada)
    assert cert.override_by == "person:7"
    assert cert.override_reason == "Completed the course on paper"
    assert cert.signature  # rendered and signed like any other
    entry = AuditEntry.objects.get(action="certificate.issue")
    assert entry.actor == "person:7"
    assert entry.data["awarded_by"] == "staff override"
    assert entry.data["override_reason"] == "Completed the course on paper"


def test_an_override_to_exempt_issues_no_certificate(django_capture_on_commit_callbacks):
    course, _ = one_page_course()
    ada = learner(course, "ada")
    override(ada, "exempt", django_capture_on_commit_callbacks, reason="Holds the licence")
    assert Progress.objects.get(membership=ada).status_label == "Exempt"
    assert not Certificate.objects.exists()


def test_a_course_without_certificates_issues_none_for_an_override(
    django_capture_on_commit_callbacks,
):
    course, _ = one_page_course()
    CertificateSettings.objects.update_or_create(course=course, defaults={"enabled": False})
    ada = learner(course, "ada")
    override(ada, "completed", django_capture_on_commit_callbacks)
    assert Progress.objects.get(membership=ada).status == "completed"
    assert not Certificate.objects.exists()


def test_an_override_to_completed_is_written_back_to_the_gradebook_as_a_completion(
    platform, django_capture_on_commit_callbacks
):
    services = Services(platform)
    course, _ = one_page_course(deployment=Deployment.objects.get())
    course.ags_lineitems_url = services.lineitems_url
    course.save()
    ada = learner(course, "ada")
    override(ada, "completed", django_capture_on_commit_callbacks)
    post = GradebookPost.objects.get(membership=ada)
    assert post.score == 100.0
    assert [s["userId"] for s in services.scores] == ["ada"]
    assert services.scores[0]["activityProgress"] == "Completed"


def test_a_criteria_met_certificate_carries_no_override_note(django_capture_on_commit_callbacks):
    from tests.certificates.helpers import complete

    course, page = one_page_course()
    ada = learner(course, "ada")
    complete(course, page, ada, django_capture_on_commit_callbacks)
    cert = Certificate.objects.get(membership=ada)
    assert (cert.override_by, cert.override_reason) == ("", "")
