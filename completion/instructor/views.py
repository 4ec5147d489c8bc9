"""Instructor pages of the risk engine: the learner table, criteria settings, status overrides.

Views parse, authorise (`access_*`), call one selector or service, and render.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from completion.instructor import charts, criteria_editor
from completion.instructor.chart_counts import last_active_counts, tiers_per_day
from completion.instructor.forms import OverrideForm
from completion.instructor.roster import FILTER_KEYS, query_from, roster_page
from completion.risk import selectors as sel
from completion.risk.services import InvalidCriteria, override_status, update_criteria
from lti_tool import selectors
from lti_tool.context import LaunchContext
from lti_tool.db.paging import asked
from lti_tool.decorators import launch_required
from lti_tool.models import Role
from lti_tool.selectors import STAFF_ROLES


def _launch(request: HttpRequest) -> LaunchContext:
    return request.launch  # type: ignore[attr-defined, no-any-return]


@launch_required(roles=STAFF_ROLES)
def risk_dashboard(request: HttpRequest) -> HttpResponse:
    """The roster: one page of learners, sorted and filtered on the server."""
    launch = _launch(request)
    course = selectors.access_course(launch, launch.course_id or 0, staff=True)
    query = query_from(request.GET, page=asked(request.GET))
    roster = roster_page(course, query)
    return render(
        request,
        "completion/risk_dashboard.html",
        {
            "course": course,
            "roster": roster,
            "query": query,
            "filters": _filters_query(request),
        },
    )


MIN_CURVE_DAYS = 14


@launch_required(roles=STAFF_ROLES)
def course_charts(request: HttpRequest) -> HttpResponse:
    """The course at a glance: the drop-off curve and the risk tiers over time."""
    launch = _launch(request)
    course = selectors.access_course(launch, launch.course_id or 0, staff=True)
    counts = last_active_counts(course, now=timezone.now())
    horizon = max([age for _, age in counts] + [MIN_CURVE_DAYS])
    shares = charts.survival(counts, horizon)
    per_day = tiers_per_day(course)
    return render(
        request,
        "completion/charts.html",
        {
            "course": course,
            "curve": charts.drop_off_curve(shares),
            "learners": sum(counts.values()),
            "never": sum(n for (last, _), n in counts.items() if last < 0),
            "bars": charts.tier_bars([(d.strftime("%d %b"), c) for d, c in per_day]),
            "latest": per_day[-1] if per_day else None,
            "width": charts.WIDTH,
            "height": charts.HEIGHT,
        },
    )


# Teaching assistants and advisors may read criteria and statuses; instructors change them.
EDITORS = frozenset({Role.INSTRUCTOR, Role.ADMIN})


def _editors_only(request: HttpRequest, launch: LaunchContext) -> None:
    if request.method == "POST" and launch.role not in EDITORS:
        raise PermissionDenied("Only instructors and administrators change this.")


def _filters_query(request: HttpRequest) -> str:
    """The current filters as a query string, for sort and page links to keep."""
    return urlencode({k: request.GET[k] for k in FILTER_KEYS if request.GET.get(k)})


@launch_required(roles=STAFF_ROLES)
def criteria_settings(request: HttpRequest) -> HttpResponse:
    """The criteria editor: items to pick, thresholds, prerequisites drawn as a path."""
    launch = _launch(request)
    course = selectors.access_course(launch, launch.course_id or 0, staff=True)
    _editors_only(request, launch)
    posted, can_edit = request.method == "POST", launch.role in EDITORS
    form, row = criteria_editor.editor_form(
        course, request.POST if posted else None, can_edit=can_edit
    )
    if posted and form.is_valid():
        try:
            update_criteria(course=course, values=form.values(), by=f"person:{launch.person_id}")
            return redirect(reverse("completion_risk:criteria") + "?done=criteria")
        except InvalidCriteria as exc:
            form.show(exc.problems)
    query = request.GET.get("q", "").strip()[:100]
    return render(
        request,
        "completion/criteria.html",
        {
            "course": course,
            "form": form,
            "query": query,
            "rows": form.item_rows(query),
            "path": criteria_editor.path_for(form, row),
            "can_edit": can_edit,
        },
        status=400 if posted else 200,
    )


@launch_required(roles=STAFF_ROLES)
def override_learner_status(request: HttpRequest, membership_id: int) -> HttpResponse:
    launch = _launch(request)
    membership = selectors.access_membership(launch, membership_id)
    _editors_only(request, launch)
    form = OverrideForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            override_status(
                membership=membership,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                by=f"person:{launch.person_id}",
            )
            return redirect(reverse("completion_risk:dashboard") + "?done=status")
        except InvalidCriteria as exc:
            form.add_error(None, str(exc))
    return render(
        request,
        "completion/override.html",
        {
            "membership": membership,
            "form": form,
            "detail": sel.learner_risk(membership),
        },
        status=400 if request.method == "POST" else 200,
    )
