"""Expiry, reminders, renewal, tracks and LMS write-back on an as-of timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from certificates import services, tasks
from certificates.models import Certificate, CertificateSettings, CredentialTrack, GradebookPost
from certificates.selectors import certificate_status
from interventions.delivery.outbox import dispatch_due
from interventions.models import OutboundMessage
from lti_tool.models import Deployment
from tests.certificates.helpers import complete, learner, one_page_course
from tests.helpers import session_token
from tests.platform.services import Services

pytestmark = pytest.mark.django_db


def test_a_twelve_month_certificate_expires_reminds_and_is_renewed_by_the_refresher(
    django_capture_on_commit_callbacks, smtp_server
):
    course, page = one_page_course()
    refresher, refresher_page = one_page_course(deployment=course.deployment)
    CertificateSettings.objects.create(
        course=course, validity_months=12, renewal_window_days=60, renewal_course=refresher
    )
    ada = learner(course, "ada", email="ada@example.edu")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        complete(course, page, ada, django_capture_on_commit_callbacks)
    first = Certificate.objects.get(membership=ada)
    expires = first.expires_at
    assert expires.year == start.year + 1

    def on(moment):
        return certificate_status(first, now=moment)

    assert on(start) == "valid"
    assert on(expires - timedelta(days=59)) == "renewal_required"
    assert on(expires) == "expired"

    # Reminders 30, 14 and 3 days before expiry, each once, through the email channel.
    for days_before in (31, 29, 28, 13, 2, 1):
        moment = expires - timedelta(days=days_before)
        with time_machine.travel(moment, tick=False):
            tasks.expiry_reminders()
            dispatch_due()
    reminders = OutboundMessage.objects.filter(reason__startswith="certificate_expiry").order_by(
        "reason"
    )
    assert sorted(m.reason for m in reminders) == [
        "certificate_expiry_14", "certificate_expiry_3", "certificate_expiry_30",
    ]  # fmt: skip
    assert {m.status for m in reminders} == {"sent"}
    subjects = [m["Subject"] for m in smtp_server.mailbox.messages]
    assert len(subjects) == 3
    assert all("expires on" in s for s in subjects)
    assert (
        refresher.title
        in smtp_server.mailbox.messages[0].get_payload(0).get_payload(decode=True).decode()
    )

    # Completing the refresher renews: a new certificate for the same course, linked to the old.
    renewal_member = learner(refresher, "ada", person=ada.person)
    with time_machine.travel(expires - timedelta(days=20), tick=False):
        complete(
            refresher, refresher_page, renewal_member, django_capture_on_commit_callbacks, on=3
        )
    renewed = Certificate.objects.get(renews=first)
    assert renewed.course == course
    assert renewed.membership == renewal_member
    assert renewed.expires_at > expires
    assert renewed.pdf_sha256
    first.refresh_from_db()
    assert first.revoked_at is None
    assert first.expires_at == expires
    # Another pass over the same refresher completion renews nothing more.
    complete(refresher, refresher_page, renewal_member, django_capture_on_commit_callbacks, on=4)
    assert Certificate.objects.filter(person=ada.person).count() == 2


def test_a_track_certificate_follows_its_courses_and_expires_with_the_first(
    django_capture_on_commit_callbacks,
):
    first, first_page = one_page_course()
    second, second_page = one_page_course(deployment=first.deployment)
    CertificateSettings.objects.create(course=first, validity_months=12)
    CertificateSettings.objects.create(course=second, validity_months=24)
    track = CredentialTrack.objects.create(deployment=first.deployment, title="Safety programme")
    track.courses.set([first, second])
    ada = learner(first, "ada")
    complete(first, first_page, ada, django_capture_on_commit_callbacks)
    assert not Certificate.objects.filter(track=track).exists()
    ada2 = learner(second, "ada", person=ada.person)
    complete(second, second_page, ada2, django_capture_on_commit_callbacks)
    track_cert = Certificate.objects.get(track=track)
    part = Certificate.objects.get(membership=ada)
    assert track_cert.title == "Safety programme"
    assert track_cert.expires_at == part.expires_at
    assert track_cert.signature
    assert track_cert.pdf
    # Passes over the same completions do not issue the track again.
    complete(second, second_page, ada2, django_capture_on_commit_callbacks, on=2)
    assert Certificate.objects.filter(track=track).count() == 1


@pytest.fixture
def lms(platform):
    services_ = Services(platform)
    course, page = one_page_course(deployment=Deployment.objects.get())
    course.ags_lineitems_url = services_.lineitems_url
    course.save()
    return services_, course, page


def test_completion_is_written_back_to_the_lms_and_retried_until_accepted(
    lms, django_capture_on_commit_callbacks
):
    services_, course, page = lms
    services_.failures = [500] * 5  # the platform is down for the first sync's five tries
    ada = learner(course, "ada")
    complete(course, page, ada, django_capture_on_commit_callbacks)
    post = GradebookPost.objects.get(membership=ada)
    assert post.posted_at is None
    assert post.attempts == 1
    assert "500" in post.last_error
    assert post.next_attempt_at > timezone.now()
    assert services_.scores == []
    # Not due yet: nothing is posted; once due (the platform is back), it is accepted.
    assert tasks.post_gradebook() == (0, 0)
    with time_machine.travel(post.next_attempt_at + timedelta(seconds=1)):
        assert tasks.post_gradebook() == (1, 0)
    assert [s["userId"] for s in services_.scores] == ["ada"]
    assert services_.scores[0]["activityProgress"] == "Completed"
    assert services_.scores[0]["gradingProgress"] == "FullyGraded"
    post.refresh_from_db()
    assert post.posted_at is not None
    # Scoring again does not post twice.
    complete(course, page, ada, django_capture_on_commit_callbacks, on=2)
    assert len(services_.scores) == 1


def test_pending_sweep_renders_what_failed(django_capture_on_commit_callbacks, monkeypatch):
    course, page = one_page_course()
    ada = learner(course, "ada")
    monkeypatch.setattr(services.pdf, "render_pdf", lambda html: (_ for _ in ()).throw(OSError()))
    complete(course, page, ada, django_capture_on_commit_callbacks)
    monkeypatch.undo()
    assert tasks.finish_pending() == 0  # younger than a minute: the issuing task may still run
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert tasks.finish_pending() == 1
    assert Certificate.objects.get(membership=ada).signature


def test_the_learner_sees_which_track_courses_are_done_and_which_remain(
    django_capture_on_commit_callbacks,
):
    from django.test import Client
    from django.urls import reverse

    from lti_tool.context import LaunchContext

    first, first_page = one_page_course()
    second, _ = one_page_course(deployment=first.deployment)
    second.title = "Manual handling"
    second.save()
    track = CredentialTrack.objects.create(deployment=first.deployment, title="Safety programme")
    track.courses.set([first, second])
    ada = learner(first, "ada")
    learner(second, "ada", person=ada.person)
    complete(first, first_page, ada, django_capture_on_commit_callbacks)
    lt = session_token(LaunchContext(
        deployment_id=first.deployment_id, platform_id=first.deployment.platform_id,
        person_id=ada.person_id, course_id=first.pk, membership_id=ada.pk, role="learner",
    ))  # fmt: skip
    body = (
        Client().get(reverse("certificates:mine"), {}, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    )
    assert "Safety programme" in body
    assert "Done: Course" in body
    assert "Still to do: Manual handling" in body


@pytest.mark.django_db(transaction=True)
def test_the_every_minute_job_issues_the_certificate_of_a_learner_who_just_finished():
    """The production path: an event arrives, the 1-minute schedule re-scores, a PDF exists."""
    from completion.risk import tasks as risk_tasks
    from completion.risk.scoring import today
    from tests.completion.riskdata import add

    course, page = one_page_course()
    ada = learner(course, "ada")
    add(course, ada, "completed", timezone.now() - timedelta(minutes=1), item=page)
    assert risk_tasks.rescore_changed_courses(today().isoformat()) == 1
    cert = Certificate.objects.get(membership=ada)
    assert cert.signature
    assert cert.pdf
