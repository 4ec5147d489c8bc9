"""The instructor's first screen after a launch: who needs me today, and why."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe

from interventions.today import charts
from interventions.today.figures import today_page
from lti_tool.decorators import launch_of, launch_required
from lti_tool.selectors import STAFF_ROLES, access_course, launch_person


@launch_required(roles=STAFF_ROLES)
def today(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    page = today_page(course, now=timezone.now())
    # pygal's SVG, built from numbers and escaped labels only, with its script removed.
    sparks = {
        c.membership_id: mark_safe(charts.sparkline(c.history, c.name)) for c in page.contacts
    }
    return render(
        request,
        "interventions/today.html",
        {
            "course": course,
            "person": launch_person(launch),
            "page": page,
            "risk_chart": mark_safe(charts.cached(charts.risk_mix, page.risk_mix))
            if page.risk_mix
            else "",
            "pace_chart": mark_safe(charts.cached(charts.pace, page.pace)) if page.pace else "",
            "contacts": [(c, sparks[c.membership_id]) for c in page.contacts],
        },
    )
