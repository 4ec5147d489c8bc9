"""Instructor pages of the risk engine: the learner table, criteria settings, status overrides.

Views parse, authorise (`access_*`), call one selector or service, and render.
"""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from completion import risk_selectors as sel
from completion.models import Item
from completion.risk_forms import CriteriaForm, OverrideForm
from completion.risk_services import InvalidCriteria, override_status, update_criteria
from lti_tool import selectors
from lti_tool.context import LaunchContext
from lti_tool.decorators import launch_required
from lti_tool.models import Course
from lti_tool.selectors import STAFF_ROLES


def _launch(request: HttpRequest) -> LaunchContext:
    return request.launch  # type: ignore[attr-defined, no-any-return]


def _as_of(request: HttpRequest) -> date | None:
    try:
        return date.fromisoformat(request.GET.get("as_of", ""))
    except ValueError:
        return None


@launch_required(roles=STAFF_ROLES)
def risk_dashboard(request: HttpRequest) -> HttpResponse:
    launch = _launch(request)
    course = selectors.access_course(launch, launch.course_id or 0, staff=True)
    day, rows = sel.course_risk(course, _as_of(request))
    return render(
        request,
        "completion/risk_dashboard.html",
        {
            "course": course,
            "day": day,
            "rows": rows,
            "lt": request.GET.get("lt", ""),
            "counts": {t: sum(1 for r in rows if r.tier == t) for t in ("red", "yellow", "green")},
        },
    )


def _criteria_form(course: Course, data: object = None) -> CriteriaForm:
    items = list(
        Item.objects.filter(course=course, is_tool_lineitem=False)
        .order_by("position", "pk")
        .values_list("pk", "kind", "title")
    )
    courses = list(
        Course.objects.filter(deployment_id=course.deployment_id)
        .exclude(pk=course.pk)
        .values_list("pk", "title")
    )
    initial = CriteriaForm.initial_from(sel.criteria_row(course))
    return CriteriaForm(data, initial=initial, items=items, courses=courses)


@launch_required(roles=STAFF_ROLES)
def criteria_settings(request: HttpRequest) -> HttpResponse:
    launch = _launch(request)
    course = selectors.access_course(launch, launch.course_id or 0, staff=True)
    form = _criteria_form(course, request.POST if request.method == "POST" else None)
    saved = False
    if request.method == "POST" and form.is_valid():
        try:
            update_criteria(course=course, values=form.values(), by=f"person:{launch.person_id}")
            saved = True
        except InvalidCriteria as exc:
            form.add_error(None, str(exc))
    return render(
        request,
        "completion/criteria.html",
        {
            "course": course,
            "form": form,
            "saved": saved,
            "lt": request.POST.get("lt") or request.GET.get("lt", ""),
        },
        status=400 if request.method == "POST" and not saved else 200,
    )


@launch_required(roles=STAFF_ROLES)
def override_learner_status(request: HttpRequest, membership_id: int) -> HttpResponse:
    launch = _launch(request)
    membership = selectors.access_membership(launch, membership_id)
    form = OverrideForm(request.POST if request.method == "POST" else None)
    lt = request.POST.get("lt") or request.GET.get("lt", "")
    if request.method == "POST" and form.is_valid():
        try:
            override_status(
                membership=membership,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                by=f"person:{launch.person_id}",
            )
            return redirect(reverse("completion_risk:dashboard") + f"?lt={lt}")
        except InvalidCriteria as exc:
            form.add_error(None, str(exc))
    return render(
        request,
        "completion/override.html",
        {
            "membership": membership,
            "form": form,
            "lt": lt,
            "detail": sel.learner_risk(membership),
        },
        status=400 if request.method == "POST" else 200,
    )
