"""Learners' replies through the providers' webhooks: Twilio's signed inbound SMS and a signed
inbound-parse POST of an email to a message's reply address; matched, audited, shown to staff,
and counted as a response to the step, as a click is."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import logging
import time
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from interventions import reply_views as views
from interventions.delivery import outbox, replies
from interventions.delivery.channels import email as email_channel
from interventions.delivery.channels import sms as sms_channel
from interventions.delivery.outbox import dispatch_due
from interventions.models import ContactPreference, InboundReply, OutboundMessage
from interventions.planning.planner import plan_course
from lti_tool.models import AuditEntry, Course, Deployment
from tests.helpers import token_for
from tests.interventions.helpers import NOW, act, enrol

pytestmark = pytest.mark.django_db
SMS_HOOK = "/messages/inbound/sms/"
EMAIL_HOOK = "/messages/inbound/email/"
KEY = "mailgun-signing-key"
ITEM = "https://lms.example.edu/courses/101/modules/4"


@pytest.fixture
def replies_on(settings):
    settings.FINISHLINE_SMS = {**settings.FINISHLINE_SMS, "AUTH_TOKEN": "sms-secret"}
    settings.FINISHLINE_REPLIES = {"REPLY_DOMAIN": "replies.example.edu",
                                   "INBOUND_EMAIL_SIGNING_KEY": KEY}  # fmt: skip


def post_sms(form, *, token="sms-secret", signature=None, at=NOW):
    """Posted at `at` (the texts in these tests are sent around NOW)."""
    from django.conf import settings

    url = settings.TOOL_BASE_URL + SMS_HOOK
    if signature is None:
        signature = sms_channel.webhook_signature(url, list(form.items()), token)
    with time_machine.travel(at, tick=False):
        return Client().post(SMS_HOOK, form, HTTP_X_TWILIO_SIGNATURE=signature)


def post_email(form, *, key=KEY, timestamp=None):
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    token = hashlib.sha256(repr(form).encode()).hexdigest()[:50]
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return Client().post(EMAIL_HOOK, {**form, "timestamp": stamp, "token": token,
                                      "signature": signature})  # fmt: skip


def verified(m, phone="+447700900123"):
    ContactPreference.objects.update_or_create(person=m.person, defaults={
        "phone": phone, "phone_verified_at": NOW, "sms_opt_in": True})  # fmt: skip


def sent(course, m, *, channel="sms", key="k1", at=NOW, reason="playbook:absent_4", **extra):
    fields = {"status": "sent", "sent_at": at, **extra}
    return OutboundMessage.objects.create(
        idempotency_key=key, deployment=course.deployment, course=course, membership=m,
        channel=channel, to_address=fields.pop("to", "+447700900123"), body_text="Hi",
        not_before=at, reason=reason, **fields,
    )  # fmt: skip


def test_the_signature_check_matches_twilios_published_example():
    params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
              ("From", "+14158675309"), ("To", "+18005551212")]  # fmt: skip
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert sms_channel.signature_ok(url, params, "12345", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not sms_channel.signature_ok(
        url + "&x=1", params, "12345", "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )
    assert not sms_channel.signature_ok(url, params, "", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_the_email_signature_check_refuses_a_wrong_key_or_an_old_timestamp():
    stamp, token = "1700000000", "abc"
    good = hmac.new(b"k", b"1700000000abc", hashlib.sha256).hexdigest()
    check = email_channel.inbound_signature_ok
    assert check(signing_key="k", timestamp=stamp, token=token, signature=good, now=1700000060)
    assert not check(signing_key="x", timestamp=stamp, token=token, signature=good, now=1700000060)
    assert not check(signing_key="k", timestamp=stamp, token=token, signature=good,
                     now=1700000000 + 16 * 60)  # fmt: skip
    assert not check(signing_key="", timestamp=stamp, token=token, signature=good, now=1700000060)


def test_a_signed_sms_reply_is_recorded_against_the_newest_sms_to_that_learner(course, replies_on):
    ada = enrol(course, "ada")
    verified(ada, "+44 7700 900123")
    older = sent(course, ada, key="k1", at=NOW - timedelta(days=3))
    newest = sent(course, ada, key="k2", at=NOW - timedelta(days=1))
    answer = post_sms({"From": "+447700900123", "Body": "Busy week, back Monday",
                       "MessageSid": "SMa1"})  # fmt: skip
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/xml")
    (reply,) = InboundReply.objects.all()
    assert (reply.message_id, reply.membership_id, reply.text) == (
        newest.pk,
        ada.pk,
        "Busy week, back Monday",
    )
    newest.refresh_from_db()
    older.refresh_from_db()
    assert newest.replied_at is not None
    assert older.replied_at is None
    entry = AuditEntry.objects.get(action="message.reply_received")
    assert entry.data["message"] == newest.pk
    post_sms({"From": "+447700900123", "Body": "Busy week, back Monday", "MessageSid": "SMa1"})
    assert InboundReply.objects.count() == 1  # the provider's retry is taken once


def test_an_unsigned_or_forged_sms_post_is_refused_and_logged(course, replies_on, caplog):
    ada = enrol(course, "ada")
    verified(ada)
    sent(course, ada)
    caplog.set_level(logging.WARNING, logger="finishline.replies")
    form = {"From": "+447700900123", "Body": "hello"}
    unsigned = Client().post(SMS_HOOK, form)
    forged = post_sms(form, token="not-the-token")
    assert (unsigned.status_code, forged.status_code) == (403, 403)
    assert b"X-Twilio-Signature" in forged.content
    assert "reply_refused channel=sms" in caplog.text
    assert not InboundReply.objects.exists()
    assert Client().get(SMS_HOOK).status_code == 405


def test_an_sms_from_an_unverified_or_unknown_number_is_not_taken(course, replies_on, caplog):
    ada = enrol(course, "ada")
    ContactPreference.objects.create(person=ada.person, phone="+447700900123")  # not verified
    sent(course, ada)
    caplog.set_level(logging.WARNING, logger="finishline.replies")
    for number in ("+447700900123", "+15551234567"):
        assert post_sms({"From": number, "Body": "hi"}).status_code == 200
    assert "reply_unmatched channel=sms" in caplog.text
    assert not InboundReply.objects.exists()


def test_stop_opts_the_learner_out_of_sms_audited_and_is_not_a_response(course, replies_on):
    ada = enrol(course, "ada")
    verified(ada)
    message = sent(course, ada)
    queued = sent(course, ada, key="k2")
    OutboundMessage.objects.filter(pk=queued.pk).update(status="pending")
    assert post_sms({"From": "+447700900123", "Body": " stop "}).status_code == 200
    contact = ContactPreference.objects.get(person=ada.person)
    assert (contact.sms_opt_out, contact.sms_opt_in) == (True, False)
    assert AuditEntry.objects.filter(action="contact.opted_out", actor="sms-reply").exists()
    assert OutboundMessage.objects.get(pk=queued.pk).status == "suppressed"
    reply = InboundReply.objects.get()
    assert reply.opted_out
    message.refresh_from_db()
    assert message.replied_at is None


def test_an_email_reply_to_a_reply_address_is_recorded(course, replies_on, caplog):
    ada = enrol(course, "ada")
    message = sent(course, ada, channel="email", to="ada@example.edu", reply_token="r" * 32)
    answer = post_email({"recipient": f"reply+{'r' * 32}@replies.example.edu",
                         "sender": "ada@example.edu", "body-plain": "Thanks!\n> quoted",
                         "stripped-text": "Thanks!", "Message-Id": "<m1@mail>"})  # fmt: skip
    assert answer.status_code == 200
    reply = InboundReply.objects.get()
    assert (reply.message_id, reply.channel, reply.text) == (message.pk, "email", "Thanks!")
    caplog.set_level(logging.WARNING, logger="finishline.replies")
    unknown = post_email({"recipient": f"reply+{'u' * 32}@replies.example.edu",
                          "sender": "x@example.edu", "body-plain": "?"})  # fmt: skip
    assert unknown.status_code == 406
    assert "reply_unmatched channel=email" in caplog.text
    old = post_email({"recipient": f"reply+{'r' * 32}@replies.example.edu",
                      "sender": "ada@example.edu", "body-plain": "again"},
                     timestamp=int(time.time()) - 3600)  # fmt: skip
    forged = post_email(
        {
            "recipient": f"reply+{'r' * 32}@replies.example.edu",
            "sender": "ada@example.edu",
            "body-plain": "again",
        },
        key="guess",
    )
    assert (old.status_code, forged.status_code) == (403, 403)
    assert InboundReply.objects.count() == 1


def test_a_learners_email_carries_its_own_reply_address_only_when_replies_are_set_up(
    course, smtp_server, settings
):
    ada = enrol(course, "ada")
    teacher = enrol(course, "teach", role="instructor")
    settings.FINISHLINE_REPLIES = {"REPLY_DOMAIN": "", "INBOUND_EMAIL_SIGNING_KEY": ""}
    sent(course, ada, channel="email", to="ada@example.edu", key="c", sent_at=None)
    OutboundMessage.objects.update(status="pending")
    dispatch_due()
    assert smtp_server.mailbox.messages[-1]["Reply-To"] is None
    settings.FINISHLINE_REPLIES = {"REPLY_DOMAIN": "replies.example.edu",
                                   "INBOUND_EMAIL_SIGNING_KEY": KEY}  # fmt: skip
    to_ada = sent(course, ada, channel="email", to="ada@example.edu", key="a")
    about_ada = sent(course, ada, channel="email", to=teacher.person.email, key="b")
    OutboundMessage.objects.filter(pk__in=[to_ada.pk, about_ada.pk]).update(status="pending")
    dispatch_due()
    to_ada.refresh_from_db()
    about_ada.refresh_from_db()
    by_to = {m["To"]: m for m in smtp_server.mailbox.messages[-2:]}
    assert by_to["ada@example.edu"]["Reply-To"] == f"reply+{to_ada.reply_token}@replies.example.edu"
    assert by_to[teacher.person.email]["Reply-To"] is None  # a staff alert is not the learner's
    assert about_ada.reply_token is None


def escalating(course, m):
    """A learner who was sent absent_2 by email at NOW and never came back."""
    for days_ago in (12, 9, 6):
        act(course, m, "viewed", NOW - timedelta(days=days_ago, hours=1), item=ITEM)
    plan_course(course_id=course.pk, now=NOW)
    message = OutboundMessage.objects.get(membership=m, reason="playbook:absent_2")
    OutboundMessage.objects.filter(pk=message.pk).update(reply_token="e" * 32, status="sent")
    return message


def test_a_reply_within_the_window_answers_the_step(course, replies_on):
    m = enrol(course, "di")
    escalating(course, m)
    with time_machine.travel(NOW + timedelta(hours=5), tick=False):
        assert (
            post_email(
                {
                    "recipient": f"reply+{'e' * 32}@replies.example.edu",
                    "sender": "di@example.edu",
                    "body-plain": "On it",
                }
            ).status_code
            == 200
        )
    later = plan_course(course_id=course.pk, now=NOW + timedelta(hours=49))
    assert [a.step for a in later.actions] == []


def test_a_reply_after_the_window_does_not_stop_the_escalation(course, replies_on):
    m = enrol(course, "ed")
    escalating(course, m)
    with time_machine.travel(NOW + timedelta(hours=48, minutes=30), tick=False):
        assert (
            post_email(
                {
                    "recipient": f"reply+{'e' * 32}@replies.example.edu",
                    "sender": "ed@example.edu",
                    "body-plain": "Late",
                }
            ).status_code
            == 200
        )
    later = plan_course(course_id=course.pk, now=NOW + timedelta(hours=49))
    (escalated,) = [a for a in later.actions if a.step == "absent_4"]
    assert escalated.detail.startswith("no return visit, click or reply within 48 h of absent_2")


def test_staff_see_replies_escaped_and_newest_first(course, replies_on):
    ada = enrol(course, "ada", name="Ada Lovelace")
    teacher = enrol(course, "teach", role="instructor")
    verified(ada)
    sent(course, ada, at=NOW - timedelta(days=2))
    post_sms({"From": "+447700900123", "Body": "first <b>reply</b>", "MessageSid": "S1"},
             at=NOW - timedelta(days=1))  # fmt: skip
    post_sms({"From": "+447700900123", "Body": "second reply", "MessageSid": "S2"})
    lt = token_for(teacher, "instructor")
    body = Client().get(f"/messages/course/learners/{ada.pk}/", {},
                        HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()  # fmt: skip
    assert "Replies from" in body
    assert "first &lt;b&gt;reply&lt;/b&gt;" in body
    assert "<b>reply</b>" not in body
    assert body.index("second reply") < body.index("first &lt;b&gt;")
    assert "Text message from +447700900123" in body


def test_stop_from_a_verified_number_never_texted_still_opts_out(course, replies_on):
    ada = enrol(course, "ada")
    verified(ada)
    assert post_sms({"From": "+447700900123", "Body": "UNSUBSCRIBE"}).status_code == 200
    assert ContactPreference.objects.get(person=ada.person).sms_opt_out
    assert not InboundReply.objects.exists()  # no message to file it under
    assert post_sms({"From": "+447700900123", "Body": "hello?"}).status_code == 200
    assert not InboundReply.objects.exists()


def signed_email(form, *, stamp, token):
    signature = hmac.new(KEY.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return {**form, "timestamp": stamp, "token": token, "signature": signature}


def test_a_signature_is_taken_once_so_a_seen_post_cannot_carry_other_content(
    course, replies_on, caplog
):
    ada = enrol(course, "ada")
    sent(course, ada, channel="email", to="ada@example.edu", reply_token="r" * 32)
    to = f"reply+{'r' * 32}@replies.example.edu"
    stamp, token = str(int(time.time())), "t" * 50
    first = Client().post(EMAIL_HOOK, signed_email(
        {"recipient": to, "sender": "ada@example.edu", "body-plain": "real",
         "Message-Id": "<1@x>"}, stamp=stamp, token=token))  # fmt: skip
    caplog.set_level(logging.WARNING, logger="finishline.replies")
    forged = Client().post(EMAIL_HOOK, signed_email(
        {"recipient": to, "sender": "ada@example.edu", "body-plain": "forged",
         "Message-Id": "<2@x>"}, stamp=stamp, token=token))  # fmt: skip
    assert (first.status_code, forged.status_code) == (200, 403)
    assert "reply_refused channel=email" in caplog.text
    assert list(InboundReply.objects.values_list("text", flat=True)) == ["real"]
    retried = Client().post(EMAIL_HOOK, signed_email(
        {"recipient": to, "sender": "ada@example.edu", "body-plain": "real",
         "Message-Id": "<1@x>"}, stamp=stamp, token=token))  # fmt: skip
    assert retried.status_code == 200  # the provider's retry of a post already taken
    assert InboundReply.objects.count() == 1


def test_an_email_from_another_address_is_kept_but_is_not_the_learners_answer(course, replies_on):
    ada = enrol(course, "ada")
    message = sent(course, ada, channel="email", to="Ada@Example.edu", reply_token="r" * 32)
    to = f"reply+{'r' * 32}@replies.example.edu"
    post_email({"recipient": to, "sender": "boss@example.edu", "from": "Boss <boss@example.edu>",
                "body-plain": "She is on leave"})  # fmt: skip
    reply = InboundReply.objects.get()
    assert (reply.from_learner, reply.text) == (False, "She is on leave")
    message.refresh_from_db()
    assert message.replied_at is None
    teacher = enrol(course, "teach", role="instructor")
    body = (
        Client()
        .get(
            f"/messages/course/learners/{ada.pk}/",
            {},
            HTTP_X_FINISHLINE_LAUNCH=token_for(teacher, "instructor"),
        )
        .content.decode()
    )
    assert "She is on leave" in body
    assert "Not from the address the message went to" in body  # fmt: skip
    post_email({"recipient": to, "sender": "bounce+x@example.edu",
                "from": "Ada L <ada@EXAMPLE.edu>", "body-plain": "On it"})  # fmt: skip
    assert InboundReply.objects.get(text="On it").from_learner
    message.refresh_from_db()
    assert message.replied_at is not None


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X-Autoreply": "yes"},
        {"message-headers": '[["Subject", "Away"], ["auto-submitted", "auto-generated"]]'},
        {"message-headers": '[["Precedence", "auto_reply"]]'},
    ],
)
def test_an_auto_reply_is_never_the_learners_answer(course, replies_on, headers):
    ada = enrol(course, "ada")
    message = sent(course, ada, channel="email", to="ada@example.edu", reply_token="r" * 32)
    answer = post_email(
        {
            "recipient": f"reply+{'r' * 32}@replies.example.edu",
            "sender": "ada@example.edu",
            "body-plain": "I am away",
            **headers,
        }
    )
    assert answer.status_code == 200
    message.refresh_from_db()
    assert message.replied_at is None
    assert not InboundReply.objects.exists()


def test_auto_submitted_no_is_a_person_writing(course, replies_on):
    ada = enrol(course, "ada")
    message = sent(course, ada, channel="email", to="ada@example.edu", reply_token="r" * 32)
    post_email({"recipient": f"reply+{'r' * 32}@replies.example.edu", "sender": "ada@example.edu",
                "body-plain": "Here", "Auto-Submitted": "no"})  # fmt: skip
    message.refresh_from_db()
    assert message.replied_at is not None


def other_tenant(course, username):
    deployment = Deployment.objects.create(platform=course.deployment.platform,
                                           deployment_id="d2")  # fmt: skip
    other = Course.objects.create(deployment=deployment, context_id="c2", title="Other tenant")
    return other, enrol(other, username)


def test_an_sms_from_a_number_verified_in_two_tenants_is_filed_under_neither(
    course, replies_on, caplog
):
    ada = enrol(course, "ada")
    verified(ada)
    mine = sent(course, ada, key="k1", at=NOW - timedelta(days=2))
    other, bob = other_tenant(course, "bob")
    verified(bob)
    theirs = sent(other, bob, key="k2", at=NOW - timedelta(days=1))
    caplog.set_level(logging.WARNING, logger="finishline.replies")
    answer = post_sms({"From": "+447700900123", "Body": "Re your course", "MessageSid": "S"})
    assert answer.status_code == 200
    assert "reply_unmatched channel=sms reason=ambiguous" in caplog.text
    assert not InboundReply.objects.exists()
    for message in (mine, theirs):
        message.refresh_from_db()
        assert message.replied_at is None
    post_sms({"From": "+447700900123", "Body": "STOP", "MessageSid": "S2"})
    assert list(ContactPreference.objects.values_list("sms_opt_out", flat=True)) == [True, True]
    assert not InboundReply.objects.exists()


def test_an_sms_long_after_the_last_text_is_not_filed_under_it(course, replies_on, caplog):
    ada = enrol(course, "ada")
    verified(ada)
    sent(course, ada, at=NOW - replies.SMS_REPLY_WINDOW - timedelta(hours=1))
    caplog.set_level(logging.WARNING, logger="finishline.replies")
    answer = post_sms({"From": "+447700900123", "Body": "who is this?"})
    assert (answer.status_code, answer.content) == (200, views.EMPTY_TWIML.encode())
    assert answer["Content-Type"].startswith("text/xml")
    assert "reply_unmatched channel=sms" in caplog.text
    assert not InboundReply.objects.exists()


def test_an_unmatched_email_asks_the_provider_not_to_retry(course, replies_on, caplog):
    caplog.set_level(logging.WARNING, logger="finishline.replies")
    answer = post_email({"recipient": f"reply+{'u' * 32}@replies.example.edu",
                         "sender": "x@example.edu", "body-plain": "?"})  # fmt: skip
    assert answer.status_code == 406  # Mailgun's "rejected, do not retry"
    assert "reply_unmatched channel=email" in caplog.text


def test_reply_tokens_are_lowercase_and_matched_in_any_case(course, replies_on, settings):
    ada = enrol(course, "ada")
    message = sent(course, ada, channel="email", to=ada.person.email, key="k9")
    address = outbox.reply_address(message)
    token = address.split("+", 1)[1].split("@")[0]
    assert token == token.lower()
    assert len(token) >= 32
    shouted = post_email({"recipient": address.upper(), "sender": ada.person.email,
                          "body-plain": "Hi"})  # fmt: skip
    assert shouted.status_code == 200
    assert InboundReply.objects.get().message_id == message.pk


def test_tokens_given_before_are_lowercased_so_their_replies_still_match(course, replies_on):
    from django.apps import apps

    migration = importlib.import_module("interventions.migrations.0013_inbound_reply_checks")
    ada = enrol(course, "ada")
    message = sent(course, ada, channel="email", to="ada@example.edu", reply_token="AbC" * 8)
    migration.lowercase_reply_tokens(apps, None)
    message.refresh_from_db()
    assert message.reply_token == "abc" * 8
    answer = post_email({"recipient": f"reply+{'AbC' * 8}@replies.example.edu",
                         "sender": "ada@example.edu", "body-plain": "Hi"})  # fmt: skip
    assert answer.status_code == 200
    assert InboundReply.objects.get().message_id == message.pk
