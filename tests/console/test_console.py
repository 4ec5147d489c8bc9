"""The admin console: scoped to the admin's deployment, and each action it offers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure

from completion.console import operations as console
from completion.ingest.lms import tasks
from completion.models import CourseSync
from lti_tool.keys import credentials
from lti_tool.keys import tool as keys
from lti_tool.models import AuditEntry, Deployment, RetentionPolicy, ServiceCredential, ToolKey
from tests.completion.riskdata import enrol, make_course
from tests.helpers import token_for

pytestmark = pytest.mark.django_db

HOME = "console:home"


def token(membership, role="admin"):
    return token_for(membership, role)


@pytest.fixture
def tenants():
    """Two deployments on two platforms, each with a course, an admin and a credential."""
    ours, _ = make_course(items=())
    ours.title, ours.nrps_url = "Fire safety", "https://lms1.test/nrps"
    ours.ags_lineitems_url = "https://lms1.test/ags"
    ours.save()
    theirs, _ = make_course(items=())
    theirs.title, theirs.nrps_url = "Their course", "https://lms2.test/nrps"
    theirs.save()
    admin = enrol(ours, "admin", role="admin")
    credentials.issue_credential(deployment=ours.deployment, kind="xapi", name="Our LRS", actor="t")
    other = credentials.issue_credential(
        deployment=theirs.deployment, kind="api", name="Their CRM", actor="t"
    )
    CourseSync.objects.create(
        course=ours,
        kind="roster",
        last_error="HTTPError: 502 from NRPS",
        last_error_at=timezone.now(),
    )
    return ours, theirs, admin, other


def test_an_admin_sees_only_its_own_deployment(tenants):
    ours, theirs, admin, other = tenants
    page = Client().get(reverse(HOME), {}, HTTP_X_FINISHLINE_LAUNCH=token(admin))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Fire safety" in body
    assert "HTTPError: 502 from NRPS" in body
    assert "Our LRS" in body
    assert ours.deployment.platform.issuer in body
    assert "Their course" not in body
    assert "Their CRM" not in body
    assert other.key not in body
    assert theirs.deployment.platform.issuer not in body


def test_other_roles_are_refused_and_a_missing_launch_asks_for_one(tenants):
    ours, _theirs, _admin, _other = tenants
    teacher = enrol(ours, "teacher", role="instructor")
    for role in ("instructor", "learner", "advisor"):
        lt = token(teacher, role)
        assert Client().get(reverse(HOME), {}, HTTP_X_FINISHLINE_LAUNCH=lt).status_code == 403
        refused = Client().post(reverse("console:retention"), {"lt": lt, "years": "1"})
        assert refused.status_code == 403
    assert Client().get(reverse(HOME)).status_code == 401
    assert not RetentionPolicy.objects.exists()


def test_sync_now_enqueues_the_courses_sync_and_audits_it(
    tenants, monkeypatch, django_capture_on_commit_callbacks
):
    ours, _theirs, admin, _other = tenants
    ran = []
    monkeypatch.setattr(tasks, "sync_course_roster", lambda course_id: ran.append(course_id) or {})
    lt = token(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            reverse("console:sync"), {"lt": lt, "course": ours.pk, "kind": "roster"}
        )
    assert response.status_code == 302
    assert ran == [ours.pk]
    entry = AuditEntry.objects.get(action="sync.requested")
    assert (entry.object_id, entry.data, entry.actor) == (
        str(ours.pk),
        {"kind": "roster"},
        f"person:{admin.person_id}",
    )
    page = Client().get(response["Location"], HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "Sync queued" in page
    assert "1 succeeded and 0 failed in the last 24 hours" in page


def test_sync_now_refuses_another_tenants_course_and_an_unknown_kind(
    tenants, monkeypatch, django_capture_on_commit_callbacks
):
    ours, theirs, admin, _other = tenants
    ran = []
    monkeypatch.setattr(tasks, "sync_course_roster", lambda course_id: ran.append(course_id) or {})
    url, lt = reverse("console:sync"), token(admin)
    with django_capture_on_commit_callbacks(execute=True):
        foreign = Client().post(url, {"lt": lt, "course": theirs.pk, "kind": "roster"})
        unknown = Client().post(url, {"lt": lt, "course": ours.pk, "kind": "everything"})
    assert foreign.status_code == 404
    assert unknown.status_code == 400
    assert ran == []
    assert not AuditEntry.objects.filter(action="sync.requested").exists()


def test_a_credential_is_issued_with_its_secret_shown_once_and_can_be_revoked(tenants):
    ours, _theirs, admin, _other = tenants
    lt = token(admin)
    issued = Client().post(
        reverse("console:issue_credential"), {"lt": lt, "kind": "caliper", "name": "Our Caliper"}
    )
    assert issued.status_code == 200
    assert issued["Cache-Control"] == "no-store"
    credential = ServiceCredential.objects.get(name="Our Caliper", deployment=ours.deployment)
    body = issued.content.decode()
    secret = body.split(f"<code>{credential.key}.", 1)[1].split("</code>", 1)[0]
    assert credentials.authenticate(kind="caliper", key=credential.key, secret=secret)
    assert (
        secret not in Client().get(reverse(HOME), {}, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    )

    revoked = Client().post(reverse("console:revoke_credential", args=[credential.pk]), {"lt": lt})
    assert revoked.status_code == 302
    assert credentials.authenticate(kind="caliper", key=credential.key, secret=secret) is None
    assert AuditEntry.objects.filter(action="credential.revoked").count() == 1


def test_an_admin_cannot_revoke_another_tenants_credential_or_issue_a_bad_one(tenants):
    _ours, _theirs, admin, other = tenants
    lt = token(admin)
    url = reverse("console:revoke_credential", args=[other.credential.pk])
    assert Client().post(url, {"lt": lt}).status_code == 404
    other.credential.refresh_from_db()
    assert other.credential.revoked_at is None
    bad = Client().post(reverse("console:issue_credential"), {"lt": lt, "kind": "ftp", "name": "x"})
    assert bad.status_code == 400
    assert ServiceCredential.objects.count() == 2


def test_the_console_shows_the_keys_but_leaves_rotation_to_the_operator(tenants):
    """The keys are shared by every institution: one tenant's admin must not rotate them."""
    _ours, _theirs, admin, _other = tenants
    keys.ensure_keys()
    current = ToolKey.objects.get(state="current").kid
    page = Client().get(reverse(HOME), {}, HTTP_X_FINISHLINE_LAUNCH=token(admin)).content.decode()
    assert current in page
    assert "PRIVATE KEY" not in page
    assert "manage.py rotate_keys" in page
    assert Client().post("/console/keys/rotate/", {"lt": token(admin)}).status_code == 404


def test_the_retention_period_is_saved_audited_and_checked(tenants):
    ours, _theirs, admin, _other = tenants
    lt = token(admin)
    page = Client().get(reverse(HOME), {}, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "<strong>7 years</strong> (the default)" in page
    saved = Client().post(reverse("console:retention"), {"lt": lt, "years": "10"})
    assert saved.status_code == 302
    assert RetentionPolicy.objects.get(deployment=ours.deployment).years == 10
    entry = AuditEntry.objects.get(action="retention.updated")
    assert entry.data == {"years": 10, "previous": 7}
    assert Client().post(reverse("console:retention"), {"lt": lt, "years": "0"}).status_code == 400
    assert RetentionPolicy.objects.get(deployment=ours.deployment).years == 10
    preview = (
        Client().get(reverse(HOME), {"preview": "1"}, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    )
    assert "completion.Activity" in preview


def test_the_job_queue_shows_waiting_jobs_and_recent_failures(tenants):
    _ours, _theirs, admin, _other = tenants
    now = timezone.now()
    broker = get_broker()  # the ORM broker, or Redis when REDIS_URL is set (CI's second run)
    broker.purge_queue()
    broker.enqueue("a signed package")
    Failure.objects.create(
        id="f" * 32,
        name="winter-lima-echo",
        func="completion.ingest.lms.tasks.grades",
        started=now - timedelta(minutes=2),
        stopped=now - timedelta(minutes=1),
        success=False,
    )
    body = Client().get(reverse(HOME), {}, HTTP_X_FINISHLINE_LAUNCH=token(admin)).content.decode()
    assert f"Broker: {type(broker).__name__.lower()}" in body
    assert "1 job waiting" in body
    broker.purge_queue()
    assert "0 succeeded and 1 failed in the last 24 hours" in body
    assert "winter-lima-echo" in body
    assert "completion.ingest.lms.tasks.grades" in body


class DownRedis:
    """A broker that cannot be reached (django-q2 names its Redis broker class `Redis`)."""

    def queue_size(self):
        raise ConnectionError("redis is down")


DownRedis.__name__ = "Redis"


def test_with_the_redis_broker_the_page_says_so_and_survives_it_being_down(tenants, monkeypatch):
    _ours, _theirs, admin, _other = tenants
    monkeypatch.setattr(console, "get_broker", DownRedis)
    page = Client().get(reverse(HOME), {}, HTTP_X_FINISHLINE_LAUNCH=token(admin))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Broker: redis" in body
    assert "Queue size unavailable: ConnectionError: redis is down" in body


def test_a_deployment_sharing_the_platform_stays_invisible(tenants):
    """Two institutions on one LMS: the console lists only the launch's own deployment."""
    ours, _theirs, admin, _other = tenants
    Deployment.objects.create(
        platform=ours.deployment.platform, deployment_id="neighbour-dep", name="Neighbour College"
    )
    page = Client().get(reverse(HOME), {}, HTTP_X_FINISHLINE_LAUNCH=token(admin)).content.decode()
    assert "neighbour-dep" not in page
    assert "Neighbour College" not in page
