"""Every business event reaches a subscribed receiver once, signed: completion, certificate
issued, revoked and expired, risk turned red, learner paused and resumed, advisor escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from certificates import services, tasks
from certificates.models import Certificate, CertificateSettings
from interventions.learners.actions import assign_advisor
from interventions.learners.pausing import pause_learner, resume_learner
from lti_tool.webhooks import deliver_due
from tests.certificates.helpers import complete, learner, one_page_course
from tests.completion.riskdata import enrol
from tests.lti_tool.test_webhooks import Receiver, hook

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def events(receiver):
    return [r["json"]["type"] for r in receiver.requests]


def test_business_events_reach_the_receiver_once_and_signed(
    receiver, django_capture_on_commit_callbacks
):
    course, page = one_page_course()
    CertificateSettings.objects.create(course=course, validity_months=1)
    hook(receiver, course.deployment)
    ada = learner(course, "ada")
    bob = learner(course, "bob")  # never starts: red after a few days
    teacher = enrol(course, "teacher", role="instructor")
    complete(course, page, ada, django_capture_on_commit_callbacks, on=6)
    complete(course, page, ada, django_capture_on_commit_callbacks, on=6)  # a second pass
    assert sorted(events(receiver)) == sorted(["completion.achieved", "certificate.issued",
                                               "risk.tier_red"])  # fmt: skip
    red = next(r for r in receiver.requests if r["json"]["type"] == "risk.tier_red")
    assert red["json"]["data"]["learner"] == "bob"
    issued = next(r for r in receiver.requests if r["json"]["type"] == "certificate.issued")
    cert = Certificate.objects.get(membership=ada)
    assert issued["json"]["data"]["serial"] == cert.serial
    assert all(r["valid"] for r in receiver.requests)

    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_certificate(cert, reason="mistake", by="t", now=timezone.now())
        today = timezone.localdate()
        pause_learner(membership=bob, until=today + timedelta(days=3), reason="ill", by="bob")
        resume_learner(membership=bob, by="bob")
        assign_advisor(membership=bob, advisor=teacher.person, reason="never started",
                       by=teacher.person)  # fmt: skip
    deliver_due()
    later = [e for e in events(receiver)[3:] if e != "risk.tier_red"]  # pausing re-scores bob
    assert later == [
        "certificate.revoked", "learner.paused", "learner.resumed", "intervention.escalated",
    ]  # fmt: skip

    # A certificate that expires is announced by the daily job, once.
    other = learner(course, "cara")
    complete(course, page, other, django_capture_on_commit_callbacks, on=7)
    expiring = Certificate.objects.get(membership=other)
    with time_machine.travel(expiring.expires_at + timedelta(hours=1)):
        with django_capture_on_commit_callbacks(execute=True):
            tasks.expiry_reminders()
            tasks.expiry_reminders()
        deliver_due()
    assert events(receiver).count("certificate.expired") == 1
