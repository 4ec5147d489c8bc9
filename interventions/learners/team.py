"""A manager's page: the compliance status of the people who report to them (their
`manager_email` from the LMS claim or the HR roster) and the escalations open about them.
Any launch may open it; it shows only the launching person's own team."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from completion.reports.selectors import team_of, team_report
from interventions.models import AdvisorCase
from lti_tool.decorators import launch_of, launch_required


@launch_required()
def my_team(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    report = team_report(launch, now=timezone.now())
    cases = list(
        AdvisorCase.objects.filter(membership__person_id__in=team_of(launch))
        .exclude(status=AdvisorCase.Status.RESOLVED)
        .select_related("membership__person", "membership__course")
        .order_by("due_at")[:200]
    )
    return render(request, "interventions/team.html", {"report": report, "cases": cases})
