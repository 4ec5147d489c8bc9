"""A learner answers their messages, by text message and by email, through the providers'
webhooks (posted from a local HTTP client, signed as Twilio and an inbound-parse route sign
them), and the instructor reads the replies on the learner's page."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime

import pytest
import requests

from tests.browser import test_reach_more as reach
from tests.browser.conftest import screenshot
from tests.browser.test_journeys import launch
from tests.browser.test_reach_more import course, keep_awake, membership, run_the_hourly_plan

catcher = reach.catcher  # the demo's mail catcher and seeded features, as fixtures here
features = reach.features

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIGNING_KEY = "inbound-signing-key"


@pytest.fixture
def replies_on(settings):
    settings.FINISHLINE_SMS = {**settings.FINISHLINE_SMS, "AUTH_TOKEN": "sms-auth-token"}
    settings.FINISHLINE_REPLIES = {"REPLY_DOMAIN": "replies.example.edu",
                                   "INBOUND_EMAIL_SIGNING_KEY": SIGNING_KEY}  # fmt: skip


def test_a_learners_replies_reach_the_instructor_on_the_learner_page(features, replies_on, page):
    from interventions.delivery.channels.sms import webhook_signature
    from interventions.models import OutboundMessage

    # Learner 3 verified their number and was sent a text message.
    texted = membership("demo-learner-3")
    OutboundMessage.objects.create(
        idempotency_key="demo-sms-1", deployment=course().deployment, course=course(),
        membership=texted, channel="sms", to_address="+447700900003", status="sent",
        body_text="Learner, Workplace Safety 101: you're 20% done.", reason="playbook:absent_4",
        not_before=datetime.now(UTC), sent_at=datetime.now(UTC),
    )  # fmt: skip
    hook = features.url + "/messages/inbound/sms/"
    form = {"From": "+447700900003", "Body": "Back on <Monday>, promise", "MessageSid": "SM1"}
    forged = requests.post(hook, data=form, headers={"X-Twilio-Signature": "forged"}, timeout=10)
    assert forged.status_code == 403
    signature = webhook_signature(hook, list(form.items()), "sms-auth-token")
    answer = requests.post(hook, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)
    assert answer.status_code == 200, answer.text

    # Learner 6's welcome email carries its own reply address; they answer it.
    keep_awake("demo-learner-6")
    run_the_hourly_plan()
    welcome = OutboundMessage.objects.get(membership=membership("demo-learner-6"),
                                          reason="playbook:welcome", channel="email")  # fmt: skip
    assert welcome.status == "sent", welcome.last_error
    assert welcome.reply_token
    stamp, token = str(int(time.time())), secrets.token_hex(25)
    mail = {
        "recipient": f"reply+{welcome.reply_token}@replies.example.edu",
        "sender": welcome.to_address, "body-plain": "Gracias, empiezo hoy.\n> Hola",
        "stripped-text": "Gracias, empiezo hoy.", "timestamp": stamp, "token": token,
        "signature": hmac.new(SIGNING_KEY.encode(), (stamp + token).encode(),
                              hashlib.sha256).hexdigest(),
    }  # fmt: skip
    email_hook = features.url + "/messages/inbound/email/"
    assert requests.post(email_hook, data=mail, timeout=10).status_code == 200
    # Someone else answers the same email: shown, but not as the learner's answer.
    stamp, token = str(int(time.time())), secrets.token_hex(25)
    other = {**mail, "sender": "colleague@example.org", "body-plain": "Learner 6 is on leave.",
             "stripped-text": "Learner 6 is on leave.", "timestamp": stamp, "token": token,
             "signature": hmac.new(SIGNING_KEY.encode(), (stamp + token).encode(),
                                   hashlib.sha256).hexdigest()}  # fmt: skip
    assert requests.post(email_hook, data=other, timeout=10).status_code == 200
    assert requests.post(email_hook, data=other, timeout=10).status_code == 403  # used token

    frame, _lt = launch(page, features, "instructor")
    frame.get_by_role("navigation", name="Main").get_by_role("link", name="Learners").click()
    frame.get_by_role("link", name="Learner 3").first.click()
    replies = frame.locator("section").filter(has=frame.get_by_role("heading", name="Replies from"))
    replies.get_by_text("Back on <Monday>, promise").wait_for()
    replies.get_by_text("Text message from +447700900003").wait_for()
    screenshot(page, "instructor-sees-sms-reply")

    frame.get_by_role("link", name="Back to the roster").click()
    frame.get_by_role("link", name="Learner 6").first.click()
    replies = frame.locator("section").filter(has=frame.get_by_role("heading", name="Replies from"))
    replies.get_by_text("Gracias, empiezo hoy.").wait_for()
    replies.get_by_text(f"Email from {welcome.to_address}").wait_for()
    flagged = replies.get_by_role("row").filter(has_text="Learner 6 is on leave.")
    flagged.get_by_text("Not from the address the message went to").wait_for()
    assert (
        replies.get_by_role("row")
        .filter(has_text="Gracias")
        .get_by_text("Not from the address")
        .count()
        == 0
    )
    screenshot(page, "instructor-sees-email-reply")
