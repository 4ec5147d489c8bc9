from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from completion.models import Activity, CourseSync, ImportBatch, Outcome
from lti_tool.models import Course, Deployment, Membership, ServiceCredential


@pytest.fixture
def admin_client(client, platform):
    client.force_login(User.objects.create_superuser("root", "r@example.edu", "pw"))
    return client


def test_credential_is_issued_from_the_admin_and_its_secret_shown_once(admin_client):
    deployment = Deployment.objects.get()
    response = admin_client.post(
        "/django-admin/lti_tool/servicecredential/issue/",
        {"deployment": deployment.pk, "kind": "xapi", "name": "Moodle LRS"},
    )
    assert response.status_code == 200
    credential = ServiceCredential.objects.get()
    secret = response.context["issued"].secret
    assert secret.encode() in response.content
    assert secret not in credential.secret_hash


def test_upload_imports_a_file_and_shows_the_report(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    deployment = Deployment.objects.get()
    Course.objects.create(deployment=deployment, context_id="C1")
    csv = (
        b"learner_id,course_id,verb,timestamp,source_id\nnobody,C1,viewed,2026-03-02T10:00:00Z,x1\n"
    )
    response = admin_client.post(
        "/django-admin/completion/importbatch/upload/",
        {"deployment": deployment.pk, "file": SimpleUploadedFile("events.csv", csv)},
    )
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.rows_pending) == ("done", 1)
    assert not Activity.objects.exists()


def test_sync_health_is_listed_and_a_sync_can_be_queued(admin_client, platform):
    from tests.platform.services import Services, member

    services = Services(platform)
    services.members = [member("a")]
    course = Course.objects.create(
        deployment=Deployment.objects.get(), context_id="C1", nrps_url=services.nrps_url
    )
    sync = CourseSync.objects.create(
        course=course, kind="roster", last_error="PlatformUnavailable: 503"
    )
    listing = admin_client.get("/django-admin/completion/coursesync/")
    assert b"PlatformUnavailable: 503" in listing.content
    response = admin_client.post(
        "/django-admin/completion/coursesync/",
        {"action": "sync_now", "_selected_action": [sync.pk]},
    )
    assert response.status_code == 302
    sync.refresh_from_db()  # the test queue runs tasks at once
    assert sync.last_success_at is not None
    assert sync.counts["members"] == 1


def test_upload_imports_people_and_outcomes_all_or_nothing(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    deployment = Deployment.objects.get()
    url = "/django-admin/completion/importbatch/upload/"
    form = admin_client.get(url).content.decode()
    assert "Final outcomes" in form
    people = (
        b"learner_id,course_id,enrolled_at,withdrawn_at\n"
        b"bo,H1,2026-02-01,\ncy,H1,2026-02-01,2026-03-01\n"
    )
    response = admin_client.post(
        url,
        {
            "deployment": deployment.pk,
            "kind": "people",
            "file": SimpleUploadedFile("p.csv", people),
        },
    )
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert (batch.kind, batch.filename, batch.status, batch.rows_stored) == (
        "people",
        "p.csv",
        "done",
        2,
    )
    assert set(Membership.objects.values_list("person__sub", flat=True)) == {"bo", "cy"}
    outcomes = (
        b"learner_id,course_id,result,decided_on\nbo,H1,passed,2026-06-01\ncy,H1,quit,2026-03-01\n"
    )
    rejected = admin_client.post(
        url,
        {
            "deployment": deployment.pk,
            "kind": "outcomes",
            "file": SimpleUploadedFile("o.csv", outcomes),
        },
        follow=True,
    )
    batch = ImportBatch.objects.latest("pk")
    assert (batch.kind, batch.status) == ("outcomes", "rejected")
    assert [r["line"] for r in batch.rejected] == [3]
    assert "quit" in batch.rejected[0]["reason"]
    assert b"1 rejected rows" in rejected.content
    assert not Outcome.objects.exists()
