"""The contact page: a person's own channels, digest, language, time zone and quiet hours,
their phone verification, and their consent to A/B tests; and the form parsing that staff
corrections on the learner page share. Views parse, call one service, render."""

from __future__ import annotations

from datetime import time

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from interventions.delivery.preferences import (
    ContactChoices,
    PreferenceRefused,
    contact_of,
    save_contact_choices,
    send_phone_code,
    verify_phone,
)
from interventions.learners.consent import consent_experiments, record_consent
from interventions.learners.partners import partners_for
from interventions.models import Experiment
from lti_tool.decorators import launch_of, launch_required
from lti_tool.models import Membership, Person
from lti_tool.selectors import access_membership


def choices_from(post: QueryDict) -> ContactChoices:
    """The contact form's fields; ValueError on a malformed time."""
    return ContactChoices(
        email=post.get("email") == "on",
        sms=post.get("sms") == "on",
        daily_digest=post.get("delivery") == "digest",
        language=post.get("language", "").strip(),
        timezone=post.get("timezone", "").strip(),
        quiet_start=_clock(post.get("quiet_start", "")),
        quiet_end=_clock(post.get("quiet_end", "")),
        chat_webhook_url=post.get("chat_webhook_url", "").strip(),
        study_partner=post.get("study_partner") == "on",
        prefers_chat=post.get("prefers_chat") == "on",
    )


def _clock(value: str) -> time | None:
    return time.fromisoformat(value) if value.strip() else None


@launch_required()
def my_contact(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    membership = access_membership(launch, launch.membership_id or 0)
    person = membership.person
    error = notice = ""
    if request.method == "POST" and request.POST.get("action") == "consent":
        error, notice = _consent(request.POST, membership)
    elif request.method == "POST":
        error, notice = _act(request.POST, person)
    return render(
        request,
        "interventions/contact.html",
        {
            "person": person,
            "contact": contact_of(person),
            "membership": membership,
            "experiments": consent_experiments(membership),
            "partners": partners_for(membership),
            "error": error,
            "notice": notice,
        },
        status=400 if error else 200,
    )


def _act(post: QueryDict, person: Person) -> tuple[str, str]:
    action = post.get("action", "")
    try:
        if action == "send_code":
            send_phone_code(person=person, phone=post.get("phone", ""))
            return "", "We sent a six-digit code to your phone. Enter it below."
        if action == "verify":
            verify_phone(person=person, code=post.get("code", ""))
            return "", "Your number is verified. You can now switch on SMS."
        if action == "save":
            save_contact_choices(
                person=person, choices=choices_from(post), actor=f"learner:{person.pk}"
            )
            return "", "Your contact preferences are saved."
    except PreferenceRefused as exc:
        return str(exc), ""
    except ValueError:
        return "Check the quiet hours: use a time such as 21:00.", ""
    return "Unknown action.", ""


def _consent(post: QueryDict, membership: Membership) -> tuple[str, str]:
    try:
        record_consent(
            membership,
            experiment_id=int(post.get("experiment") or 0),
            consented=post.get("answer") == "yes",
        )
    except (ValueError, Experiment.DoesNotExist):
        return "That study is not running in your course.", ""
    return "", "Your answer is recorded. You can change it at any time."
