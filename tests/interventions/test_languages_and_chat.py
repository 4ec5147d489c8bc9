"""Messages in the learner's language and the learner's own chat channel.

A course translates a step's wording per language on the message page; the planner picks the
learner's chosen language, else the launch locale, else the course's default, and records the
language on the message. A learner with a chat webhook gets chat steps there, and all their
email steps when they prefer chat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from interventions.delivery.messages import pick_language
from interventions.models import (
    ContactPreference,
    CourseSupport,
    MessageTemplate,
    OutboundMessage,
    PlaybookSetting,
)
from interventions.planning import throttle
from interventions.planning.planner import plan_course
from tests.helpers import token_for
from tests.interventions.helpers import NOW, act, enrol

pytestmark = pytest.mark.django_db


def test_the_first_wanted_language_with_a_translation_wins():
    assert pick_language(["es-MX", "fr", "en"], {"fr", "es"}) == "es"
    assert pick_language(["", "pt_BR"], {"pt-br"}) == "pt-br"
    assert pick_language(["de", "", "en"], {"fr"}) == ""


def translate(course, key, language, subject, body):
    teacher = enrol(course, f"t-{language}", role="instructor")
    page = Client().post(
        f"/messages/course/templates/{key}/",
        {"lt": token_for(teacher, "instructor"), "language": language, "subject": subject,
         "body": body, "action": "save"},
    )  # fmt: skip
    assert page.status_code == 200, page.content.decode()


def test_the_learner_choice_then_the_locale_then_the_course_default_pick_the_wording(course):
    translate(
        course, "progress_saved", "es", "Tu progreso en {{ course }}", "Hola {{ first_name }}"
    )
    translate(course, "progress_saved", "fr", "Vos progrès dans {{ course }}", "Bonjour")
    assert MessageTemplate.objects.filter(language="es").exists()
    chose, by_locale, by_course, none = (enrol(course, s) for s in ("ana", "bo", "cy", "di"))
    ContactPreference.objects.create(person=chose.person, language="es")
    by_locale.person.locale = "fr-CA"
    by_locale.person.save()
    CourseSupport.objects.create(course=course, language="es")
    none.person.locale = "de"
    none.person.save()
    ContactPreference.objects.create(person=none.person, language="de")
    for m in (chose, by_locale, by_course, none):
        act(course, m, "viewed", NOW - timedelta(days=2, hours=1))
    plan_course(course_id=course.pk, now=NOW)
    sent = {m.membership.person.sub: m for m in OutboundMessage.objects.select_related(
        "membership__person")}  # fmt: skip
    assert (sent["ana"].language, sent["ana"].subject) == ("es", "Tu progreso en Safety 101")
    assert (sent["bo"].language, sent["bo"].subject) == ("fr", "Vos progrès dans Safety 101")
    # "de" has no translation; the course default (es) has one.
    assert (sent["di"].language, sent["di"].subject) == ("es", "Tu progreso en Safety 101")
    assert sent["cy"].language == "es"


def test_without_any_translation_the_default_wording_is_recorded_in_the_course_language(course):
    m = enrol(course, "en")
    ContactPreference.objects.create(person=m.person, language="es")
    act(course, m, "viewed", NOW - timedelta(days=2, hours=1))
    plan_course(course_id=course.pk, now=NOW)
    message = OutboundMessage.objects.get()
    assert message.language == "en"
    assert message.subject == "Your progress in Safety 101 is saved"


def test_a_bad_language_code_is_refused_and_a_translation_can_be_removed(course):
    teacher = enrol(course, "teach", role="instructor")
    lt = token_for(teacher, "instructor")
    url = "/messages/course/templates/welcome/"
    bad = Client().post(url, {"lt": lt, "language": "spanish!", "subject": "x", "body": "y"})
    assert bad.status_code == 400
    translate(course, "welcome", "es", "Bienvenido", "Hola")
    page = Client().get(url + "?language=es", HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "Learners whose language is es get this translation." in page
    Client().post(url, {"lt": lt, "language": "es", "action": "reset"})
    assert not MessageTemplate.objects.filter(language="es").exists()


def test_a_learner_who_prefers_chat_gets_email_steps_on_their_webhook(course):
    m = enrol(course, "chatty")
    page = Client().post("/messages/contact/", {
        "lt": token_for(m), "action": "save", "email": "on",
        "chat_webhook_url": "https://hooks.example.com/services/T1/B1/x", "prefers_chat": "on",
    })  # fmt: skip
    assert page.status_code == 200, page.content.decode()
    act(course, m, "viewed", NOW - timedelta(days=2, hours=1))
    plan_course(course_id=course.pk, now=NOW)
    message = OutboundMessage.objects.get()
    assert (message.channel, message.to_address) == (
        "chat",
        "https://hooks.example.com/services/T1/B1/x",
    )
    assert message.decided_by.startswith("chat preferred, own webhook")


def test_prefer_chat_needs_a_webhook(course):
    m = enrol(course, "nochat")
    page = Client().post("/messages/contact/", {"lt": token_for(m), "action": "save",
                                                "email": "on", "prefers_chat": "on"})  # fmt: skip
    assert page.status_code == 400
    assert "needs a chat webhook" in page.content.decode()


def test_a_chat_step_reaches_a_learner_with_a_webhook_and_is_suppressed_without(course):
    PlaybookSetting.objects.create(
        course=course, playbook="absence", step_overrides={"absent_2": {"channels": ["chat"]}}
    )
    hooked, plain = enrol(course, "hooked"), enrol(course, "plain")
    ContactPreference.objects.create(
        person=hooked.person, chat_webhook_url="https://hooks.example.com/x"
    )
    for m in (hooked, plain):
        act(course, m, "viewed", NOW - timedelta(days=2, hours=1))
    summary = plan_course(course_id=course.pk, now=NOW)
    status = {a.learner: (a.status, a.detail) for a in summary.actions}
    assert status["Pat hooked"][0] == "sent"
    assert status["Pat plain"] == ("suppressed", "chat: has no chat webhook")
    assert OutboundMessage.objects.get().to_address == "https://hooks.example.com/x"


def test_preferring_chat_swaps_email_only():
    r = throttle.Recipient(has_chat=True, prefers_chat=True)
    assert throttle.preferred_channels(("email", "sms"), r) == ("chat", "sms")
    assert throttle.preferred_channels(("email", "chat"), r) == ("chat",)
    no_hook = throttle.Recipient(prefers_chat=True)
    assert throttle.preferred_channels(("email",), no_hook) == ("email",)
