"""Contact preferences through the pages: the launch fills time zone, locale, phone and
manager; the learner chooses channels, verifies a number by SMS code and opts in; staff
correct with an audited reason; every message and suppression names the deciding preference."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from interventions.delivery.outbox import dispatch_due
from interventions.models import ContactPreference, Intervention, OutboundMessage
from interventions.planning.planner import plan_course
from lti_tool.models import AuditEntry, Person
from tests.helpers import token_for
from tests.interventions.helpers import NOW, act, enrol
from tests.platform.launcher import launch

pytestmark = pytest.mark.django_db

CONTACT = "/messages/contact/"
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"


def test_a_launch_stores_time_zone_and_locale_and_keeps_phone_and_manager(platform):
    launch(Client(), platform, sub="tz-1", body_overrides={
        "locale": "fr-FR",
        CUSTOM: {"timezone": "Europe/Paris", "phone": "+33612345678",
                 "manager_email": "boss@example.edu"},
    })  # fmt: skip
    person = Person.objects.get(sub="tz-1")
    assert (person.timezone, person.locale) == ("Europe/Paris", "fr-FR")
    assert person.attributes["manager_email"] == "boss@example.edu"
    learner = person.memberships.get()
    body = Client().get(CONTACT, HTTP_X_FINISHLINE_LAUNCH=token_for(learner)).content.decode()
    assert 'value="+33612345678"' in body  # the LMS's number, offered for verification


def test_an_unknown_time_zone_claim_is_ignored(platform):
    launch(Client(), platform, sub="tz-2", body_overrides={CUSTOM: {"timezone": "Mars/Olympus"}})
    assert Person.objects.get(sub="tz-2").timezone == ""


def test_the_learner_verifies_a_number_with_a_code_and_opts_in_to_sms(course, sms_provider):
    ada = enrol(course, "ada", name="Ada Lovelace")
    lt = token_for(ada)
    page = Client()
    answer = page.post(CONTACT, {"lt": lt, "action": "save", "email": "on", "sms": "on"})
    assert answer.status_code == 400
    assert "verified number" in answer.content.decode()
    page.post(CONTACT, {"lt": lt, "action": "send_code", "phone": "+44 7700 900123"})
    assert dispatch_due().sent == 1
    form, _ = sms_provider.received[-1]
    assert form["To"] == "+447700900123"
    code = form["Body"].split("code is ")[1][:6]
    wrong = page.post(
        CONTACT, {"lt": lt, "action": "verify", "code": "000000" if code != "000000" else "111111"}
    )
    assert "not the one we sent" in wrong.content.decode()
    assert (
        "is verified"
        in page.post(CONTACT, {"lt": lt, "action": "verify", "code": code}).content.decode()
    )
    saved = page.post(CONTACT, {
        "lt": lt, "action": "save", "sms": "on", "delivery": "digest",
        "quiet_start": "22:00", "quiet_end": "07:00", "timezone": "Europe/London",
        "language": "en-GB",
    })  # fmt: skip
    assert saved.status_code == 200, saved.content[:400]
    preference = ContactPreference.objects.get(person=ada.person)
    assert preference.sms_opt_in
    assert preference.email_opt_out
    assert preference.daily_digest
    assert (preference.language, ada.person.__class__.objects.get(pk=ada.person_id).timezone) == (
        "en-GB", "Europe/London",
    )  # fmt: skip
    assert AuditEntry.objects.filter(action="contact.chosen").exists()
    assert AuditEntry.objects.filter(action="contact.phone_verified").exists()


def test_messages_and_suppressions_record_the_deciding_preference(course):
    bea = enrol(course, "bea", name="Bea")
    act(course, bea, "viewed", NOW - timedelta(days=5))
    ContactPreference.objects.create(person=bea.person, email_opt_out=True)
    plan_course(course_id=course.pk, now=NOW)
    suppressed = Intervention.objects.get(step="absent_4")
    assert suppressed.status == "suppressed"
    assert suppressed.detail == "email: opted out of email; sms: has not opted in to SMS"
    ContactPreference.objects.filter(person=bea.person).update(
        email_opt_out=False, daily_digest=True
    )
    Person.objects.filter(pk=bea.person_id).update(timezone="America/New_York")
    plan_course(course_id=course.pk, now=NOW + timedelta(days=3))
    message = OutboundMessage.objects.get(membership=bea, channel="email")
    assert message.decided_by == (
        "email allowed (not opted out); daily digest at 08:00 America/New_York"
    )


def test_staff_correct_preferences_only_with_a_reason_and_cannot_opt_in_to_sms(course):
    ada = enrol(course, "ada", name="Ada Lovelace")
    teacher = enrol(course, "teach", role="instructor")
    lt = token_for(teacher, "instructor")
    url = f"/messages/course/learners/{ada.pk}/"
    page = Client()
    body = page.get(url, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "Messaging preferences" in body
    refused = page.post(url, {"lt": lt, "action": "contact", "email": "on", "reason": ""})
    assert refused.status_code == 400
    fixed = page.post(url, {"lt": lt, "action": "contact", "timezone": "Asia/Tokyo",
                            "reason": "learner asked by phone to stop email"})  # fmt: skip
    assert "corrected" in fixed.content.decode()
    assert ContactPreference.objects.get(person=ada.person).email_opt_out
    entry = AuditEntry.objects.get(action="contact.corrected")
    assert entry.data["reason"] == "learner asked by phone to stop email"
    sms = page.post(url, {"lt": lt, "action": "contact", "sms": "on", "reason": "asked"})
    assert sms.status_code == 400
    page.post(url, {"lt": lt, "action": "phone", "phone": "+15550102", "reason": "typo"})
    preference = ContactPreference.objects.get(person=ada.person)
    assert preference.phone == "+15550102"
    assert preference.phone_verified_at is None
    assert AuditEntry.objects.filter(action="contact.phone_corrected").exists()


def test_every_kind_of_message_names_what_decided_it(course):
    ada = enrol(course, "ada", name="Ada Lovelace")
    teacher = enrol(course, "teach", role="instructor")
    Client().post(f"/messages/course/learners/{ada.pk}/", {
        "lt": token_for(teacher, "instructor"), "action": "message", "subject": "Hi",
        "text": "How is it going?",
    })  # fmt: skip
    act(course, ada, "viewed", NOW - timedelta(days=2, hours=1))
    plan_course(course_id=course.pk, now=NOW)
    assert OutboundMessage.objects.count() == 2
    assert not OutboundMessage.objects.filter(decided_by="").exists()
