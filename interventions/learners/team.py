"""A manager's page: the compliance status of the people who report to them (their
`manager_email` from the LMS claim or the HR roster), the escalations open about them, and
apart from those the cases over the advisors' daily cap, which wait in a daily digest instead
of being opened. Any launch may open it; it shows only the launching person's own team."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from completion.reports.selectors import team_of, team_report
from interventions.models import AdvisorCase
from lti_tool.context import LaunchContext
from lti_tool.decorators import launch_of, launch_required

SHOWN = 200


def team_cases(launch: LaunchContext) -> tuple[list[AdvisorCase], list[AdvisorCase]]:
    """The team's open escalations, and its cases held for a daily digest (not resolved)."""
    cases = (
        AdvisorCase.objects.filter(membership__person_id__in=team_of(launch))
        .exclude(status=AdvisorCase.Status.RESOLVED)
        .select_related("membership__person", "membership__course")
        .order_by("due_at", "pk")
    )
    held = cases.filter(status=AdvisorCase.Status.BATCHED)
    return list(cases.exclude(status=AdvisorCase.Status.BATCHED)[:SHOWN]), list(held[:SHOWN])


@launch_required()
def my_team(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    report = team_report(launch, now=timezone.now())
    cases, held = team_cases(launch)
    context = {"report": report, "cases": cases, "held": held}
    return render(request, "interventions/team.html", context)
