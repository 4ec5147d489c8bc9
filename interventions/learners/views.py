"""Staff: one learner's page (timeline, signals, risk history, interventions and outcomes) and
the actions on it (message, snooze, assign an advisor, pause, mark the final outcome; the
status override lives with completion). Views parse, authorise (`access_membership`), call one
service and render."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from completion.models import Activity, Outcome, StatusOverride
from completion.outcomes import OutcomeRefused, mark_outcome
from completion.risk import selectors as risk_selectors
from completion.risk.services import InvalidCriteria, set_accommodation
from interventions.delivery.preferences import (
    PreferenceRefused,
    contact_of,
    correct_phone,
    save_contact_choices,
)
from interventions.learners.actions import (
    ActionRefused,
    assign_advisor,
    mark_contacted,
    resolve_case,
    send_message_now,
    snooze_learner,
)
from interventions.learners.contact import choices_from
from interventions.learners.pausing import PauseRefused, current_pause, pause_learner
from interventions.models import AdvisorCase, InboundReply, Intervention, OutboundMessage
from lti_tool.decorators import launch_of, launch_required
from lti_tool.models import Membership, Person, Role
from lti_tool.selectors import STAFF_ROLES, access_membership, launch_person

TIMELINE_LIMIT = 200


@launch_required(roles=STAFF_ROLES)
def learner_detail(request: HttpRequest, membership_id: int) -> HttpResponse:
    launch = launch_of(request)
    membership = access_membership(launch, membership_id)
    error = notice = ""
    if request.method == "POST":
        error, notice = _act(request, membership, launch_person(launch), launch.role)
    return render(
        request,
        "interventions/learner.html",
        {**learner_context(membership), "error": error, "notice": notice},
        status=400 if error else 200,
    )  # fmt: skip


def learner_context(membership: Membership) -> dict[str, object]:
    history = risk_selectors.learner_history(membership, days=60)
    return {
        "membership": membership,
        "person": membership.person,
        "risk": risk_selectors.learner_risk(membership),
        "history": history,
        "sparkline": _sparkline([h["probability"] for h in history]),
        "timeline": list(
            Activity.objects.filter(course=membership.course, person=membership.person)
            .select_related("item")
            .order_by("-occurred_at")[:TIMELINE_LIMIT]
        ),
        "interventions": list(
            Intervention.objects.filter(membership=membership).order_by("-planned_at")[:100]
        ),
        "messages": list(
            OutboundMessage.objects.filter(membership=membership).order_by("-created_at")[:100]
        ),
        "replies": list(
            InboundReply.objects.filter(membership=membership)
            .select_related("message")
            .order_by("-received_at", "-pk")[:100]
        ),
        "cases": list(
            AdvisorCase.objects.filter(membership=membership)
            .select_related("owner")
            .order_by("-opened_at")
        ),
        "overrides": list(StatusOverride.objects.filter(membership=membership).order_by("-at")),
        "pause": current_pause(membership),
        "outcome": Outcome.objects.filter(membership=membership).first(),
        "outcome_results": Outcome.Result.choices,
        "today": timezone.localdate(),
        "advisors": _staff_of(membership),
        "contact": contact_of(membership.person),
        "accommodation": risk_selectors.accommodation_of(membership),
        "manager_email": membership.person.attributes.get("manager_email", ""),
    }


def _staff_of(membership: Membership) -> QuerySet[Person]:
    """Who may own an advisor case for this learner: the course's staff."""
    return Person.objects.filter(
        memberships__course=membership.course,
        memberships__role__in=[Role.ADVISOR, Role.INSTRUCTOR, Role.TEACHING_ASSISTANT],
    ).distinct()


def _sparkline(values: list[float], width: int = 300, height: int = 48) -> str:
    """SVG polyline points for the completion probability, 0..1, oldest left."""
    if len(values) < 2:
        return ""
    step = width / (len(values) - 1)
    return " ".join(f"{i * step:.1f},{height - v * height:.1f}" for i, v in enumerate(values))


# Teaching assistants and advisors act on a learner; an outcome is the instructor's to record.
OUTCOME_EDITORS = frozenset({Role.INSTRUCTOR, Role.ADMIN})


def _act(request: HttpRequest, membership: Membership, by: Person, role: str) -> tuple[str, str]:
    action = request.POST.get("action", "")
    try:
        if action == "message":
            send_message_now(
                membership=membership, subject=request.POST.get("subject", ""),
                text=request.POST.get("text", ""), by=by,
            )  # fmt: skip
            return "", "Message queued; it is in the outbox below."
        if action == "snooze":
            days = int(request.POST.get("days") or 0)
            snooze_learner(membership=membership, days=days, reason=request.POST.get("reason", ""),
                           by=by)  # fmt: skip
            return "", f"Automatic nudges snoozed for {days} days."
        if action == "advisor":
            advisor = _staff_of(membership).get(pk=int(request.POST.get("advisor") or 0))
            assign_advisor(membership=membership, advisor=advisor,
                           reason=request.POST.get("reason", ""), by=by)  # fmt: skip
            return "", f"Advisor case opened for {advisor.name or advisor.sub}."
        if action == "pause":
            until = date.fromisoformat(request.POST.get("until", ""))
            pause_learner(membership=membership, until=until,
                          reason=request.POST.get("reason", ""), by=f"person:{by.pk}",
                          today=timezone.now().date())  # fmt: skip
            return "", f"Paused until {until:%d %B %Y}."
        if action in {"contacted", "resolve"}:
            case = AdvisorCase.objects.get(membership=membership, pk=int(request.POST["case"]))
            if action == "contacted":
                mark_contacted(case=case, note=request.POST.get("note", ""), by=by)
                return "", "Case marked as contacted."
            resolve_case(case=case, resolution=request.POST.get("note", ""), by=by)
            return "", "Case resolved."
        if action == "accommodation":
            _accommodate(request, membership, by=f"person:{by.pk}")
            return "", "Accommodation saved; pace, deadline and nudges now follow it."
        if action in {"contact", "phone"}:
            return _correct_contact(request, membership, actor=f"person:{by.pk}")
        if action == "outcome":
            if role not in OUTCOME_EDITORS:
                return "Only instructors and administrators record an outcome.", ""
            outcome = mark_outcome(
                membership=membership, result=request.POST.get("result", ""),
                decided_on=date.fromisoformat(request.POST.get("decided_on", "")),
                note=request.POST.get("note", ""), by=f"person:{by.pk}",
            )  # fmt: skip
            return "", f"Outcome recorded: {outcome.get_result_display().lower()}."
    except (ActionRefused, PauseRefused, PreferenceRefused, InvalidCriteria, OutcomeRefused) as exc:
        return str(exc), ""
    except (ValueError, KeyError, Person.DoesNotExist, AdvisorCase.DoesNotExist):
        return "Check the form: a value is missing or not valid.", ""
    return "Unknown action.", ""


def _correct_contact(
    request: HttpRequest, membership: Membership, *, actor: str
) -> tuple[str, str]:
    """Staff corrections of the learner's contact preferences, each with a reason."""
    reason, person = request.POST.get("reason", ""), membership.person
    if request.POST.get("action") == "phone":
        phone = request.POST.get("phone", "")
        correct_phone(person=person, phone=phone, actor=actor, reason=reason)
        return "", "Phone number corrected; SMS waits until the learner verifies it."
    choices = choices_from(request.POST)
    save_contact_choices(person=person, choices=choices, actor=actor, reason=reason)
    return "", "Contact preferences corrected; the reason is in the audit trail."


def _accommodate(request: HttpRequest, membership: Membership, *, by: str) -> None:
    post = request.POST
    set_accommodation(
        membership=membership,
        time_multiplier=float(post.get("time_multiplier") or 1),
        deadline_extension_days=int(post.get("deadline_extension_days") or 0),
        pace_percent=int(post.get("pace_percent") or 100),
        alternative_requirements=post.get("alternative_requirements", "").strip(),
        note=post.get("note", "").strip(),
        by=by,
    )
