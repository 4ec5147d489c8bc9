"""/healthz, /readyz, /metrics and the admin health page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lti_tool import tasks
from lti_tool.models import WorkerHeartbeat
from lti_tool.ops import health
from tests.completion.riskdata import enrol, make_course
from tests.helpers import token_for
from tests.platform.launcher import launch

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_serves():
    response = Client().get("/healthz/")
    assert response.status_code == 200
    assert response.content == b"ok\n"


def test_readyz_is_red_without_a_worker_heartbeat_and_names_the_check():
    response = Client().get("/readyz/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["migrations"] == {"ok": True, "detail": "all applied"}
    assert body["checks"]["worker"]["ok"] is False
    assert "qcluster" in body["checks"]["worker"]["detail"]


def test_readyz_is_green_once_the_heartbeat_task_ran_and_red_again_when_it_is_stale():
    name = tasks.heartbeat()
    assert Client().get("/readyz/").status_code == 200
    WorkerHeartbeat.objects.filter(name=name).update(
        beat_at=timezone.now() - health.HEARTBEAT_STALE - timedelta(seconds=5)
    )
    response = Client().get("/readyz/")
    assert response.status_code == 503
    assert "last heartbeat" in response.json()["checks"]["worker"]["detail"]


def test_readyz_is_red_while_a_migration_is_not_applied(monkeypatch):
    tasks.heartbeat()
    monkeypatch.setattr(health, "unapplied_migrations", lambda: ["completion.9999_future"])
    response = Client().get("/readyz/")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == {
        "ok": False,
        "detail": "1 not applied: completion.9999_future",
    }


def test_readyz_reports_a_broker_that_cannot_be_reached(monkeypatch):
    class Down:
        def ping(self):
            raise ConnectionError("connection refused")

    tasks.heartbeat()
    monkeypatch.setattr(health, "get_broker", lambda: Down())
    response = Client().get("/readyz/")
    assert response.status_code == 503
    assert "connection refused" in response.json()["checks"]["broker"]["detail"]


def test_metrics_are_hidden_from_an_address_not_allowed_and_without_the_token(monkeypatch):
    monkeypatch.delenv("FINISHLINE_METRICS_TOKEN", raising=False)
    assert Client(REMOTE_ADDR="203.0.113.5").get("/metrics").status_code == 404
    monkeypatch.setenv("FINISHLINE_METRICS_TOKEN", "s3cret-token")
    wrong = Client(REMOTE_ADDR="203.0.113.5").get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 404
    right = Client(REMOTE_ADDR="203.0.113.5").get(
        "/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token"
    )
    assert right.status_code == 200


def test_metrics_from_an_allowed_network(monkeypatch):
    monkeypatch.setenv("FINISHLINE_METRICS_ALLOW", "10.0.0.0/8")
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 404


def _sample(text: str, name: str) -> float:
    """The value of one sample line `name value` (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_metrics_count_launches_refusals_requests_and_read_the_outbox(platform):
    before = Client().get("/metrics").content.decode()
    launched = launch(Client(), platform, sub="learner-1")
    assert launched.status_code == 200
    refused = Client().get("/lti/login/", {"iss": "https://nowhere.test", "login_hint": "x"})
    assert refused.status_code >= 400
    after = Client().get("/metrics").content.decode()
    key = 'finishline_lti_launches_total{message_type="LtiResourceLinkRequest"}'
    assert _sample(after, key) == _sample(before, key) + 1
    assert "finishline_lti_refusals_total{" in after
    assert 'finishline_outbox_messages{state="pending"} 0.0' in after
    assert "finishline_queue_depth" in after
    assert "finishline_http_request_duration_seconds_count" in after


def test_the_admin_health_page_shows_the_checks_to_an_institution_admin_only():
    course, _ = make_course(items=())
    admin = enrol(course, "admin", role="admin")
    learner = enrol(course, "learner-1")
    tasks.heartbeat()
    page = Client().get(reverse("ops:health"), HTTP_X_FINISHLINE_LAUNCH=token_for(admin, "admin"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Ready." in text
    assert "last heartbeat" in text
    assert "Outbox messages pending: 0" in text
    refused = Client().get(reverse("ops:health"), HTTP_X_FINISHLINE_LAUNCH=token_for(learner))
    assert refused.status_code == 403
