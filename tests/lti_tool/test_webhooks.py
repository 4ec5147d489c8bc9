"""Outbound webhooks against a real local receiver: signing, once-only delivery, retries, replay."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.urls import reverse

from lti_tool import webhooks
from lti_tool.models import AuditEntry, Deployment, Platform, WebhookDelivery, WebhookSubscription
from lti_tool.webhooks import (
    EVENTS,
    WebhookRefused,
    deliver_due,
    emit,
    replay,
    retry_delay,
    sign,
    subscribe,
    verify_signature,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_seq = itertools.count(1)


class Receiver:
    """A live HTTP endpoint that records each POST and checks its signature."""

    def __init__(self):
        self.requests = []
        self.secrets = {}  # path -> secret
        self.fail_next = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver._record(self.path, dict(self.headers), body)
                status, answer = receiver._answer()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def _record(self, path, headers, body):
        secret = self.secrets.get(path, "")
        signature = headers.get("X-Finishline-Signature", "")
        with self._lock:
            self.requests.append(
                {
                    "path": path,
                    "headers": headers,
                    "body": body,
                    "json": json.loads(body),
                    "valid": verify_signature(secret, signature, body, now=int(time.time())),
                }
            )

    def _answer(self):
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                return 500, b"boom"
            return 200, b"ok"

    def on(self, path):
        return [r for r in self.requests if r["path"] == path]


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def make_deployment():
    n = next(_seq)
    platform = Platform.objects.create(
        issuer=f"https://lms{n}.test",
        client_id="c",
        auth_login_url="https://lms.test/a",
        auth_token_url="https://lms.test/t",
        jwks_url="https://lms.test/j",
    )
    return Deployment.objects.create(platform=platform, deployment_id=f"dep-{n}")


@pytest.fixture
def deployment(db):
    return make_deployment()


def hook(receiver, deployment, path="/hook", events=()):
    subscription, secret = subscribe(
        deployment=deployment, url=receiver.url(path), events=events, by="test"
    )
    receiver.secrets[path] = secret
    return subscription


def emit_now(capture, deployment, event="certificate.issued", **kwargs):
    with capture(execute=True):
        return emit(deployment=deployment, event=event, data=kwargs.pop("data", {}), **kwargs)


def test_a_subscribed_receiver_gets_each_event_once_with_a_valid_signature(
    receiver, deployment, django_capture_on_commit_callbacks
):
    hook(receiver, deployment)
    event_id = uuid.uuid4()
    issued = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    data = {"serial": "FL-1", "issued_on": issued}

    for _ in range(2):
        emit_now(django_capture_on_commit_callbacks, deployment, data=data, event_id=event_id)

    [request] = receiver.requests
    assert request["valid"]
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Finishline-Event"] == "certificate.issued"
    assert request["headers"]["X-Finishline-Delivery"] == str(event_id)
    assert request["headers"]["X-Finishline-Signature"].startswith("t=")
    assert request["json"] == {
        "id": str(event_id),
        "type": "certificate.issued",
        "occurred_at": request["json"]["occurred_at"],
        "deployment": deployment.deployment_id,
        "data": {"serial": "FL-1", "issued_on": "2026-03-01T12:00:00Z"},
    }
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    # A summary of the answer is kept, never the receiver's own words.
    assert (delivery.attempts, delivery.last_status_code, delivery.last_response) == (
        1,
        200,
        "HTTP 200, no type, 2 bytes",
    )
    assert delivery.delivered_at is not None


def test_emitting_an_event_id_already_queued_queues_nothing(deployment, receiver):
    hook(receiver, deployment)
    event_id = uuid.uuid4()
    assert emit(deployment=deployment, event="learner.paused", data={}, event_id=event_id) == 1
    assert emit(deployment=deployment, event="learner.paused", data={}, event_id=event_id) == 0
    assert WebhookDelivery.objects.count() == 1


def test_a_failing_receiver_gets_the_event_again_later_and_each_answer_is_recorded(
    receiver, deployment, django_capture_on_commit_callbacks
):
    hook(receiver, deployment)
    receiver.fail_next = 2
    with time_machine.travel(START, tick=False):
        emit_now(django_capture_on_commit_callbacks, deployment, event="risk.tier_red")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.PENDING, 1)
    assert (delivery.last_status_code, delivery.last_response) == (
        500,
        "HTTP 500, no type, 4 bytes",
    )
    assert delivery.last_error == "HTTP 500"
    assert START + timedelta(seconds=15) <= delivery.next_attempt_at <= START + timedelta(minutes=2)

    with time_machine.travel(delivery.next_attempt_at - timedelta(seconds=1), tick=False):
        assert deliver_due() == webhooks.DeliveryResult()  # not due yet
    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=False):
        assert deliver_due() == webhooks.DeliveryResult(retried=1)
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code) == (2, 500)

    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=False):
        assert deliver_due() == webhooks.DeliveryResult(delivered=1)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert (delivery.attempts, delivery.last_status_code, delivery.last_response) == (
        3,
        200,
        "HTTP 200, no type, 2 bytes",
    )
    assert delivery.last_error == ""
    assert len(receiver.requests) == 3
    assert all(r["valid"] for r in receiver.requests)
    assert {r["headers"]["X-Finishline-Delivery"] for r in receiver.requests} == {
        str(delivery.event_id)
    }


def test_after_24_hours_of_failures_the_delivery_is_failed(
    receiver, deployment, django_capture_on_commit_callbacks, caplog
):
    hook(receiver, deployment)
    receiver.fail_next = 10**6
    with time_machine.travel(START, tick=False), caplog.at_level(logging.WARNING):
        emit_now(django_capture_on_commit_callbacks, deployment)
    delivery = WebhookDelivery.objects.get()
    results = []
    while delivery.status == WebhookDelivery.Status.PENDING and len(results) < 100:
        with (
            time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=False),
            caplog.at_level(logging.WARNING),
        ):
            results.append(deliver_due())
        delivery.refresh_from_db()

    assert delivery.status == WebhookDelivery.Status.FAILED
    assert results[-1] == webhooks.DeliveryResult(failed=1)
    assert all(r == webhooks.DeliveryResult(retried=1) for r in results[:-1])
    # Backoff grows to its 2-hour cap, so a day holds a bounded number of tries.
    assert 12 <= delivery.attempts <= 40
    assert len(receiver.requests) == delivery.attempts
    warnings = [r for r in caplog.records if r.name == "lti_tool.webhooks"]
    assert len(warnings) == delivery.attempts
    assert "failed" in warnings[0].getMessage()


def test_an_unreachable_receiver_is_retried_with_the_error_recorded(
    deployment, django_capture_on_commit_callbacks
):
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_port
    closed.server_close()
    subscribe(deployment=deployment, url=f"http://127.0.0.1:{port}/x", events=[], by="test")
    emit_now(django_capture_on_commit_callbacks, deployment)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.PENDING, 1)
    assert delivery.last_status_code is None
    assert delivery.last_error == "the server could not be reached"


def test_unsubscribed_events_and_other_deployments_subscriptions_get_nothing(
    receiver, deployment, django_capture_on_commit_callbacks
):
    other = make_deployment()
    hook(receiver, deployment, "/certs", events=["certificate.issued"])
    hook(receiver, other, "/other")
    paused = hook(receiver, deployment, "/paused")
    WebhookSubscription.objects.filter(pk=paused.pk).update(active=False)

    assert emit_now(django_capture_on_commit_callbacks, deployment, event="learner.paused") == 0
    assert receiver.requests == []

    assert emit_now(django_capture_on_commit_callbacks, deployment) == 1
    assert [r["path"] for r in receiver.requests] == ["/certs"]

    assert emit_now(django_capture_on_commit_callbacks, other, event="learner.resumed") == 1
    assert [r["path"] for r in receiver.requests] == ["/certs", "/other"]
    assert receiver.on("/other")[0]["json"]["deployment"] == other.deployment_id
    assert all(r["valid"] for r in receiver.requests)


def test_a_bad_signature_or_a_stale_timestamp_fails_verification():
    body = b'{"id":"1"}'
    now = 1_780_000_000
    good = f"t={now},v1={sign('s3cret', now, body)}"
    assert verify_signature("s3cret", good, body, now=now + 299)
    assert not verify_signature("other", good, body, now=now)
    assert not verify_signature("s3cret", good, body + b" ", now=now)
    assert not verify_signature("s3cret", good, body, now=now + 301)
    assert not verify_signature("s3cret", good.replace(f"t={now}", f"t={now + 1}"), body, now=now)
    assert not verify_signature("s3cret", f"v1={sign('s3cret', now, body)}", body, now=now)
    assert not verify_signature("s3cret", "", body, now=now)
    # A receiver rotating secrets may see several v1 values; any one that matches will do.
    rotated = f"t={now},v1={'0' * 64},v1={sign('s3cret', now, body)}"
    assert verify_signature("s3cret", rotated, body, now=now)


def test_backoff_doubles_with_jitter_up_to_two_hours():
    assert retry_delay(0, rand=0.0) == timedelta(seconds=15)
    assert retry_delay(0, rand=0.999) < timedelta(seconds=30)
    assert retry_delay(3, rand=0.0) == timedelta(seconds=120)
    assert retry_delay(50, rand=0.999) < timedelta(hours=2)
    assert retry_delay(50, rand=0.0) == timedelta(hours=1)


def test_replay_resends_a_delivered_one_and_is_audited(
    receiver, deployment, django_capture_on_commit_callbacks
):
    hook(receiver, deployment)
    emit_now(django_capture_on_commit_callbacks, deployment)
    delivery = WebhookDelivery.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        assert replay([delivery], by="ops@example.edu") == 1

    assert len(receiver.requests) == 2
    first, again = receiver.requests
    assert again["body"] == first["body"]
    assert again["valid"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 2)
    entry = AuditEntry.objects.get(action="webhook.replayed")
    assert (entry.actor, entry.deployment_id) == ("ops@example.edu", deployment.pk)
    assert entry.data["event_id"] == str(delivery.event_id)


def test_a_delivery_claimed_by_one_worker_is_not_sent_by_another(receiver, deployment):
    hook(receiver, deployment)
    emit(deployment=deployment, event="certificate.revoked", data={})
    claimed = webhooks._claim_due(now=datetime.now(UTC), limit=10)
    assert len(claimed) == 1
    assert deliver_due() == webhooks.DeliveryResult()
    assert receiver.requests == []


def test_subscribe_returns_a_fresh_secret_once_and_audits_without_it(deployment):
    subscription, secret = subscribe(
        deployment=deployment,
        url="https://crm.example.com/hooks",
        events=["certificate.issued", "certificate.issued", "risk.tier_red"],
        description="CRM",
        by="ops",
    )
    assert len(secret) >= 43
    assert subscription.events == ["certificate.issued", "risk.tier_red"]
    other = subscribe(deployment=deployment, url="http://hr.test/", events=[], by="ops")[1]
    assert other != secret
    entry = AuditEntry.objects.get(action="webhook.subscribed", object_id=str(subscription.pk))
    assert secret not in json.dumps(entry.data)


@pytest.mark.parametrize(
    ("url", "events"),
    [
        ("https://crm.example.com/hooks", ["certificate.issued", "course.deleted"]),
        ("ftp://crm.example.com/hooks", ["certificate.issued"]),
        ("file:///etc/passwd", []),
        ("crm.example.com/hooks", []),
    ],
)
def test_subscribe_rejects_unknown_events_and_non_http_urls(deployment, url, events):
    with pytest.raises(WebhookRefused):
        subscribe(deployment=deployment, url=url, events=events, by="ops")
    assert not WebhookSubscription.objects.exists()


def test_emit_rejects_an_unknown_event(deployment):
    with pytest.raises(WebhookRefused):
        emit(deployment=deployment, event="course.deleted", data={})
    assert set(EVENTS) >= {"completion.achieved", "intervention.escalated"}


def test_the_admin_shows_the_secret_once_and_replays_selected_deliveries(
    admin_client, receiver, deployment, django_capture_on_commit_callbacks
):
    add = reverse("admin:lti_tool_webhooksubscription_add")
    response = admin_client.post(
        add,
        {
            "deployment": deployment.pk,
            "url": receiver.url(),
            "events": ["certificate.issued"],
            "description": "CRM",
        },
        follow=True,
    )
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret in response.content.decode()
    assert subscription.active
    page = admin_client.get(
        reverse("admin:lti_tool_webhooksubscription_change", args=[subscription.pk])
    )
    assert page.status_code == 200
    assert subscription.secret not in page.content.decode()
    refused = admin_client.post(
        add,
        {"deployment": deployment.pk, "url": "ftp://x.test/", "description": ""},
    )
    assert refused.status_code == 200
    assert WebhookSubscription.objects.count() == 1

    receiver.secrets["/hook"] = subscription.secret
    emit_now(django_capture_on_commit_callbacks, deployment)
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:lti_tool_webhookdelivery_changelist"),
            {"action": "replay_selected", "_selected_action": [delivery.pk]},
        )
    assert len(receiver.requests) == 2
    assert all(r["valid"] for r in receiver.requests)
    assert AuditEntry.objects.filter(action="webhook.replayed", actor="django-admin:admin").exists()
