"""The learner's own page: progress, what comes next, milestones, pace and links to the rest."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from completion.learner.progress import learner_page
from lti_tool.decorators import launch_of, launch_required, recorded_membership
from lti_tool.selectors import access_membership


@launch_required()
def my_progress(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    # Served by the launch itself: the membership it recorded (no read again).
    membership = recorded_membership(request) or access_membership(
        launch, launch.membership_id or 0
    )
    view, pause = learner_page(membership)
    return render(
        request,
        "completion/my_progress.html",
        {
            "membership": membership,
            "view": view,
            "pause": pause,
            "privacy_request": request.GET.get("privacy") == "1",
        },
    )
