"""View guards: a page inside the LMS needs a live launch session, and some need a staff role."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from lti_tool.context import LaunchContext
from lti_tool.models import Membership

View = Callable[..., HttpResponse]


def launch_of(request: HttpRequest) -> LaunchContext:
    """The launch of a request that passed `launch_required` (the middleware set it)."""
    launch: LaunchContext | None = getattr(request, "launch", None)
    if launch is None:
        raise PermissionDenied("This page needs a launch from your LMS.")
    return launch


def recorded_membership(request: HttpRequest) -> Membership | None:
    """The membership that the launch serving this page has just recorded, with its person
    and course: the landing page uses it rather than reading it again. None on any other
    request."""
    membership: Membership | None = getattr(request, "launch_membership", None)
    launch: LaunchContext | None = getattr(request, "launch", None)
    if membership is None or launch is None or membership.pk != launch.membership_id:
        return None
    return membership


def launch_required(roles: Iterable[str] | None = None) -> Callable[[View], View]:
    """Require a launch session (optionally one of `roles`).

    Its secret travels in a header or the form body, never in a cookie alone, so it also
    serves as the CSRF token for posts made from inside the LMS frame. A GET without it (the
    frame reloaded) gets a page whose script resumes with the session this tab remembers.
    """
    allowed = frozenset(roles) if roles is not None else None

    def decorator(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            launch: LaunchContext | None = getattr(request, "launch", None)
            if launch is None:
                return render(
                    request,
                    "lti_tool/error.html",
                    {
                        "title": "Please open Finishline from your course",
                        "reason": "This page needs a launch from your LMS, or the launch expired.",
                        "resume": request.method == "GET",
                    },
                    status=401,
                )
            if allowed is not None and launch.role not in allowed:
                return render(
                    request,
                    "lti_tool/error.html",
                    {
                        "title": "Not available for your role",
                        "reason": "Your role in this course does not give access to this page.",
                    },
                    status=403,
                )
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
