"""Attach the launch context to each request, and keep framing limited to our platforms."""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from lti_tool.context import LaunchContext
from lti_tool.launch import origin_of
from lti_tool.models import Platform

LAUNCH_HEADER = "HTTP_X_FINISHLINE_LAUNCH"
FRAME_ORIGINS_CACHE_KEY = "finishline:frame-origins"


class LaunchContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = (
            request.META.get(LAUNCH_HEADER)
            or request.GET.get("lt")
            or (request.POST.get("lt") if request.method == "POST" else None)
        )
        request.launch = LaunchContext.from_token(token) if token else None  # type: ignore[attr-defined]
        return self.get_response(request)


def frame_origins() -> list[str]:
    """Origins of the registered, active platforms (issuer and login hosts), cached briefly."""
    origins: list[str] | None = cache.get(FRAME_ORIGINS_CACHE_KEY)
    if origins is None:
        found: set[str] = set()
        for issuer, login in Platform.objects.filter(status=Platform.Status.ACTIVE).values_list(
            "issuer", "auth_login_url"
        ):
            found.update(o for o in (origin_of(issuer), origin_of(login)) if o)
        origins = sorted(found)
        cache.set(FRAME_ORIGINS_CACHE_KEY, origins, 60)
    return origins


def forget_frame_origins() -> None:
    cache.delete(FRAME_ORIGINS_CACHE_KEY)


class FrameAncestorsMiddleware:
    """`frame-ancestors` lists only our own origin and the registered platforms' origins."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            ancestors = " ".join(["'self'", *frame_origins()])
            response["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
        # CSP frame-ancestors supersedes X-Frame-Options; the latter would block LMS framing.
        if "X-Frame-Options" in response:
            del response["X-Frame-Options"]
        response.setdefault("Referrer-Policy", "same-origin")
        return response
