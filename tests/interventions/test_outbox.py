from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from interventions.delivery.outbox import dispatch_due, enqueue_message
from interventions.models import ContactPreference, OutboundMessage
from lti_tool.models import Deployment
from tests.helpers import subprocess_database_url
from tests.platform.server import Response, TestPlatform

ROOT = Path(__file__).resolve().parents[2]


def _email(deployment, n: int, **extra):
    return enqueue_message(
        idempotency_key=f"test:{n}",
        deployment=deployment,
        channel="email",
        to_address=f"learner{n}@example.edu",
        subject=f"Hello {n}",
        body_text=f"Text {n}",
        body_html=f"<p>HTML {n}</p>",
        **extra,
    )


def test_enqueueing_the_same_key_twice_keeps_one_message(platform):
    deployment = Deployment.objects.get()
    first = _email(deployment, 1)
    second = _email(deployment, 1)
    assert first.pk == second.pk
    assert OutboundMessage.objects.count() == 1


def test_email_is_delivered_over_smtp_with_both_parts_and_one_click_unsubscribe(
    platform, smtp_server
):
    deployment = Deployment.objects.get()
    message = _email(deployment, 1)
    result = dispatch_due()
    assert result.sent == 1
    (received,) = smtp_server.mailbox.messages
    assert received["To"] == "learner1@example.edu"
    assert received["Subject"] == "Hello 1"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/messages/unsubscribe/" in received["List-Unsubscribe"]
    types = {part.get_content_type() for part in received.walk()}
    assert {"text/plain", "text/html"} <= types
    message.refresh_from_db()
    assert message.status == "sent"
    assert message.provider_message_id == received["Message-ID"]
    assert dispatch_due().sent == 0  # nothing is sent twice


def test_smtp_server_down_means_retry_later_not_loss(platform, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    message = _email(Deployment.objects.get(), 1)
    assert dispatch_due().retried == 1
    message.refresh_from_db()
    assert message.status == "pending"
    assert message.attempts == 1
    assert message.not_before > timezone.now()
    assert "SMTP unavailable" in message.last_error


def test_sms_goes_through_the_twilio_style_api_and_is_retried_on_503(platform, sms_provider):
    deployment = Deployment.objects.get()
    sms_provider.fail_next = 1
    message = enqueue_message(
        idempotency_key="sms:1",
        deployment=deployment,
        channel="sms",
        to_address="+15551234567",
        body_text="Your progress is saved.",
    )
    assert dispatch_due().retried == 1
    OutboundMessage.objects.filter(pk=message.pk).update(not_before=timezone.now())
    assert dispatch_due().sent == 1
    form, headers = sms_provider.received[-1]
    assert form == {"To": "+15551234567", "From": "+15550000000", "Body": "Your progress is saved."}
    assert headers["authorization"].startswith("Basic ")
    assert headers["idempotency-key"] == "sms:1"
    message.refresh_from_db()
    assert (message.status, message.provider_message_id, message.attempts) == ("sent", "SM2", 2)


def test_chat_webhooks_get_slack_and_teams_payloads(platform):
    with TestPlatform() as server:
        bodies = {}
        server.route(
            "POST",
            "/slack/hook",
            lambda r: bodies.setdefault("slack", r.json()) and Response(200, "ok"),
        )
        server.route(
            "POST",
            "/teams/hook",
            lambda r: bodies.setdefault("teams", r.json()) and Response(200, "1"),
        )
        deployment = Deployment.objects.get()
        for name in ("slack", "teams"):
            enqueue_message(
                idempotency_key=f"chat:{name}",
                deployment=deployment,
                channel="chat",
                to_address=f"{server.base_url}/{name}/hook",
                subject="Advisor alert",
                body_text="Learner 4 has not visited for 10 days.",
            )
        assert dispatch_due().sent == 2
    assert bodies["slack"] == {"text": "*Advisor alert*\nLearner 4 has not visited for 10 days."}
    assert bodies["teams"]["@type"] == "MessageCard"
    assert bodies["teams"]["title"] == "Advisor alert"


def test_one_click_unsubscribe_opts_out_and_suppresses_queued_email(client, platform):
    from interventions.delivery.outbox import unsubscribe_url
    from lti_tool.models import Membership
    from tests.platform.launcher import launch

    launch(client, platform, sub="learner-1")
    membership = Membership.objects.get()
    deployment = membership.course.deployment
    queued = _email(deployment, 7, membership=membership, course=membership.course)
    url = unsubscribe_url(membership.person_id, "email")
    response = client.post(url.split("127.0.0.1:8000")[1])
    assert response.status_code == 200
    assert ContactPreference.objects.get(person=membership.person).email_opt_out
    queued.refresh_from_db()
    assert queued.status == "suppressed"
    assert client.post("/messages/unsubscribe/forged/").status_code == 400


def test_two_dispatchers_at_once_send_each_message_once(transactional_db, smtp_server):
    from django.core.management import call_command

    call_command("seed_demo")
    deployment = Deployment.objects.get()
    for n in range(60):
        _email(deployment, n)
    threads = [
        threading.Thread(target=lambda: (dispatch_due(limit=15), connection.close()))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    dispatch_due(limit=100)
    ids = smtp_server.mailbox.message_ids()
    assert len(ids) == 60
    assert len(set(ids)) == 60


def test_a_worker_killed_mid_dispatch_loses_and_duplicates_nothing(transactional_db, smtp_server):
    from django.core.management import call_command

    call_command("seed_demo")
    deployment = Deployment.objects.get()
    total = 120
    for n in range(total):
        _email(deployment, n)
    smtp_server.mailbox.delay = 0.01  # ~1.2 s for the batch, so the kill lands mid-batch
    url = subprocess_database_url()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_server.port),
        "LOG_LEVEL": "ERROR",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); "
            "from interventions.delivery.outbox import dispatch_due; dispatch_due(limit=1000)",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while len(smtp_server.mailbox.messages) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    delivered_before_restart = len(smtp_server.mailbox.messages)
    assert 0 < delivered_before_restart < total
    # The dead worker's lease expires; a new worker picks its messages up.
    OutboundMessage.objects.filter(status="sending").update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    smtp_server.mailbox.delay = 0
    while dispatch_due(limit=50).sent:
        pass
    ids = smtp_server.mailbox.message_ids()
    assert len(set(ids)) == total  # nothing lost
    # A duplicate is possible only for the one message in flight at the kill, and it carries
    # the same Message-ID (so mail stores fold it); none beyond that.
    assert len(ids) - len(set(ids)) <= 1
    assert OutboundMessage.objects.filter(status="sent").count() == total


@pytest.mark.django_db(transaction=True)
def test_a_slow_smtp_server_outliving_the_lease_never_causes_a_second_send(
    platform, smtp_server, settings
):
    """Finding: 200 messages leased for 5 minutes, 10 s each: a second dispatcher resent them.

    Scaled down: a 2-second lease, a server taking 0.8 s a message, 5 messages in one batch,
    and a second dispatcher starting after the first batch's lease has run out.
    """
    settings.FINISHLINE = {**settings.FINISHLINE, "OUTBOX_LEASE_SECONDS": 2}
    smtp_server.mailbox.delay = 0.8
    deployment = Deployment.objects.get()
    for n in range(5):
        _email(deployment, n)
    results = []

    def dispatcher():
        try:
            results.append(dispatch_due())
        finally:
            connection.close()

    first = threading.Thread(target=dispatcher)
    first.start()
    time.sleep(2.6)  # the batch lease (2 s) is over; the first dispatcher is on message 4
    second = threading.Thread(target=dispatcher)
    second.start()
    first.join(30)
    second.join(30)
    ids = smtp_server.mailbox.message_ids()
    assert sorted(ids) == sorted(set(ids))  # no message twice
    assert len(ids) == 5
    assert sum(r.sent for r in results) == 5
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_a_chat_webhook_to_a_metadata_address_fails_for_good_without_a_request(platform):
    deployment = Deployment.objects.get()
    enqueue_message(
        idempotency_key="chat:metadata",
        deployment=deployment,
        channel="chat",
        to_address="http://169.254.169.254/latest/meta-data/",
        subject="Escalation",
        body_text="x",
    )
    assert dispatch_due().failed == 1
    message = OutboundMessage.objects.get()
    assert message.status == "failed"
    assert "not allowed" in message.last_error
