"""The learner's own page: progress, what comes next, milestones, pace and links to the rest."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from completion.learner.progress import current_pause, learner_progress
from completion.risk.selectors import accommodation_of
from lti_tool.decorators import launch_of, launch_required
from lti_tool.selectors import access_membership


@launch_required()
def my_progress(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    membership = access_membership(launch, launch.membership_id or 0)
    return render(
        request,
        "completion/my_progress.html",
        {
            "membership": membership,
            "view": learner_progress(membership),
            "pause": current_pause(membership),
            "accommodation": accommodation_of(membership),
            "privacy_request": request.GET.get("privacy") == "1",
        },
    )
