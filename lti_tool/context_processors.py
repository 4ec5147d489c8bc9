"""What every page needs: the launch's session secret and URL, the navigation, a confirmation."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from lti_tool import navigation
from lti_tool.context import LaunchContext


def launch(request: HttpRequest) -> dict[str, str]:
    return {
        "launch_token": getattr(request, "launch_token", ""),
        "page_url": getattr(request, "page_url", ""),
    }


def nav(request: HttpRequest) -> dict[str, object]:
    """The role's navigation bar (empty outside a launch) and the `?done=` confirmation."""
    context: LaunchContext | None = getattr(request, "launch", None)
    links: list[navigation.NavLink] = []
    if context is not None:
        wanted = navigation.links_for(context.role, in_course=bool(context.course_id))
        own: dict[str, str] = {}
        for label, name, _ in wanted:
            try:
                own[label] = reverse(name)
            except NoReverseMatch:  # a page not installed in this deployment
                continue
        current = navigation.current_label(request.path, list(own), own)
        links = [
            navigation.NavLink(label, own[label] + (f"?{query}" if query else ""), label == current)
            for label, _, query in wanted
            if label in own
        ]
    return {
        "nav_links": links,
        "confirmation": navigation.confirmation(request.GET.get("done", "")),
    }
