"""Business outcome pages: the public survey page (signed link, no login), the course's
outcomes for staff, and the deployment's attribution, settings and record import for admins.
Views parse, authorise, call one thing and render."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import ClassVar

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from interventions.business import surveys
from interventions.business.enrolment_records import (
    COLUMNS,
    import_records,
    update_attribution_settings,
)
from interventions.business.recommendations import recommend_next
from interventions.business.report import course_report, deployment_report
from interventions.business.selectors import economics_of, survey_comments
from interventions.models import AttributionSettings
from lti_tool.db.paging import asked
from lti_tool.decorators import launch_of, launch_required
from lti_tool.models import Role
from lti_tool.selectors import STAFF_ROLES, access_course, access_membership, deployment_of

ADMIN = {Role.ADMIN}
DEFAULT_POINTS = Decimal(10)


def _points(request: HttpRequest) -> Decimal:
    """The what-if improvement in percentage points (0 to 100; 10 unless asked)."""
    try:
        points = Decimal(request.GET.get("points") or DEFAULT_POINTS)
    except InvalidOperation:
        return DEFAULT_POINTS
    return points if points.is_finite() and 0 <= points <= 100 else DEFAULT_POINTS


# --- public survey ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """One NPS question and a comment; the signed link takes one answer."""
    try:
        invitation = surveys.invitation_for(token)
    except surveys.SurveyLinkInvalid as exc:
        return render(request, "business/survey_done.html", {"message": str(exc)}, status=400)
    error, course = "", invitation.course.title or "your course"
    try:
        if surveys.is_answered(invitation):
            raise surveys.SurveyAlreadyAnswered("This survey has been answered already. Thank you!")
        if request.method == "POST":
            score = int(request.POST.get("score", ""))
            surveys.answer_survey(
                invitation=invitation, score=score, comment=request.POST.get("comment", "")
            )
            message = "Thank you! Your answer has been recorded."
            return render(request, "business/survey_done.html", {"message": message})
    except surveys.SurveyAlreadyAnswered as exc:
        return render(request, "business/survey_done.html", {"message": str(exc)}, status=409)
    except ValueError:
        error = "Choose a score from 0 to 10."
    context = {"course": course, "error": error, "scores": range(11)}
    return render(request, "business/survey.html", context, status=400 if error else 200)


# --- staff: one course ------------------------------------------------------------------------


@launch_required(roles=STAFF_ROLES)
def course_outcomes(request: HttpRequest) -> HttpResponse:
    """Satisfaction, re-enrolment, refunds and attribution of the launch's course."""
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    report = course_report(course, today=timezone.now().date(), points=_points(request))
    return render(
        request,
        "business/course.html",
        {
            "course": course,
            "report": report,
            "comments": survey_comments(course.pk),
            "next": recommend_next(course),
        },
    )


# --- admins: the deployment ------------------------------------------------------------------


@launch_required(roles=ADMIN)
def deployment_outcomes(request: HttpRequest) -> HttpResponse:
    """Every course of the deployment: attribution per course and month, rates, NPS."""
    launch = launch_of(request)
    deployment = deployment_of(launch)
    report = deployment_report(
        deployment.pk, today=timezone.now().date(), points=_points(request), page=asked(request.GET)
    )
    context = {"deployment": deployment, "report": report, "points": _points(request)}
    return render(request, "business/deployment.html", context)


class AttributionSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = AttributionSettings
        fields = (
            "currency",
            "programme_fee",
            "support_cost_per_learner",
            "followup_cost_per_learner",
            "baseline_start",
            "baseline_end",
        )
        widgets: ClassVar[dict[str, forms.Widget]] = {
            "baseline_start": forms.DateInput(attrs={"type": "date"}),
            "baseline_end": forms.DateInput(attrs={"type": "date"}),
        }

    def clean(self) -> dict[str, object]:
        data: dict[str, object] = super().clean() or {}
        start, end = data.get("baseline_start"), data.get("baseline_end")
        if (start is None) != (end is None):
            raise forms.ValidationError("Give both baseline dates, or neither.")
        if start is not None and end is not None and start > end:  # type: ignore[operator]
            raise forms.ValidationError("The baseline period ends before it starts.")
        return data


@launch_required(roles=ADMIN)
def attribution_settings(request: HttpRequest) -> HttpResponse:
    """The stated fee, costs and baseline period behind every "assumed" figure."""
    launch = launch_of(request)
    deployment = deployment_of(launch)
    current = AttributionSettings.objects.filter(deployment=deployment).first()
    form = AttributionSettingsForm(request.POST or None, instance=current)
    saved = request.method == "POST" and form.is_valid()
    if saved:
        update_attribution_settings(
            deployment=deployment, values=form.cleaned_data, by=f"person:{launch.person_id}"
        )
    context = {"form": form, "saved": saved, "economics": economics_of(deployment.pk)}
    status = 400 if request.method == "POST" and not saved else 200
    return render(request, "business/settings.html", context, status=status)


@launch_required(roles=ADMIN)
def enrolment_records(request: HttpRequest) -> HttpResponse:
    """Upload the organisation's enrolment and refund records (CSV), all or nothing."""
    launch = launch_of(request)
    deployment = deployment_of(launch)
    report, upload = None, request.FILES.get("records")
    if request.method == "POST" and upload is not None:
        report = import_records(
            deployment=deployment, data=upload.read(), by=f"person:{launch.person_id}"
        )
    status = 400 if report is not None and not report.ok else 200
    context = {"report": report, "columns": COLUMNS}
    return render(request, "business/records.html", context, status=status)


@launch_required()
def next_courses(request: HttpRequest) -> HttpResponse:
    """The learner's next-course suggestions (linked from their progress page)."""
    launch = launch_of(request)
    membership = access_membership(launch, launch.membership_id or 0)
    return render(
        request,
        "business/next_courses.html",
        {
            "course": membership.course,
            "recommendations": recommend_next(membership.course, person_id=membership.person_id),
        },
    )
