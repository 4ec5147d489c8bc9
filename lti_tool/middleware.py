"""Attach the launch context to each request, and keep framing limited to our platforms.

The launch session's secret comes in the X-Finishline-Launch header or the POST body (`lt`),
never from a URL: a `?lt=` is ignored. A GET may instead carry a single-use download ticket.
Responses to a launch are never stored by caches (`Cache-Control: no-store`).

A page of a launch may be framed only by that launch's platform (its registered origins and
the origin of the LMS page its signed token names); a page without a launch (login, refusals)
by any active registered platform. The Django admin is never framed by another origin.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from lti_tool.context import LaunchContext
from lti_tool.launch import sessions
from lti_tool.models import Platform
from lti_tool.origins import origin_of

LAUNCH_HEADER = "HTTP_X_FINISHLINE_LAUNCH"
LAUNCH_FIELD = "lt"
TICKET_PARAM = "ticket"
FRAME_ORIGINS_CACHE_KEY = "finishline:frame-origins"
ADMIN_PREFIX = "/django-admin/"
# A CSP host-source we write ourselves: scheme, host (optionally "*." first) and port only,
# so nothing a platform registers can smuggle another directive into the header.
_SOURCE = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$")
# Canvas Cloud's issuer is canvas.instructure.com, but each school frames tools from its
# own <school>.instructure.com host.
_CANVAS_CLOUD_SUFFIX = ".instructure.com"


class LaunchContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        launch, token = launch_from(request)
        request.launch = launch  # type: ignore[attr-defined]
        request.launch_token = token  # type: ignore[attr-defined]
        response = self.get_response(request)
        if getattr(request, "launch", None) is not None:
            response["Cache-Control"] = "no-store"
        return response


def launch_from(request: HttpRequest) -> tuple[LaunchContext | None, str]:
    """The launch a request acts for, and the session secret to render into its page."""
    binding = request.COOKIES.get(binding_cookie_name()) or None
    token = request.META.get(LAUNCH_HEADER, "")
    if not token and request.method == "POST":
        token = str(request.POST.get(LAUNCH_FIELD, ""))
    if token:
        return sessions.resolve(token, binding=binding), token
    ticket = request.GET.get(TICKET_PARAM, "") if request.method == "GET" else ""
    if ticket:
        return sessions.redeem_ticket(ticket, path=request.path, binding=binding), ""
    return None, ""


def binding_cookie_name() -> str:
    """`__Host-` where cookies can be Secure (https); a plain name on the http demo."""
    return "__Host-finishline-browser" if settings.COOKIES_CROSS_SITE else "finishline-browser"


def platform_origins(issuer: str, login_url: str, product: str) -> list[str]:
    """The origins a platform frames the tool from, as far as its registration tells."""
    found = {origin_of(issuer), origin_of(login_url)}
    if product == Platform.Product.CANVAS and origin_of(issuer).endswith(_CANVAS_CLOUD_SUFFIX):
        found.add("https://*" + _CANVAS_CLOUD_SUFFIX)
    return sorted(o for o in found if _SOURCE.match(o))


# Each process keeps what it read from the shared cache for a few seconds: every response
# needs it, and a launch burst should not pay a cache round trip per response.
LOCAL_ORIGINS_SECONDS = 5.0
_local_origins: tuple[float, dict[int, list[str]]] | None = None


def frame_origins_by_platform() -> dict[int, list[str]]:
    """Each active platform's origins, cached briefly (registration and approval forget it)."""
    global _local_origins
    now = time.monotonic()
    if _local_origins is not None and _local_origins[0] > now:
        return _local_origins[1]
    origins: dict[int, list[str]] | None = cache.get(FRAME_ORIGINS_CACHE_KEY)
    if origins is None:
        origins = {
            pk: platform_origins(issuer, login, product)
            for pk, issuer, login, product in Platform.objects.filter(
                status=Platform.Status.ACTIVE
            ).values_list("pk", "issuer", "auth_login_url", "product")
        }
        cache.set(FRAME_ORIGINS_CACHE_KEY, origins, 60)
    _local_origins = (now + LOCAL_ORIGINS_SECONDS, origins)
    return origins


def frame_origins() -> list[str]:
    """Origins of all registered, active platforms."""
    return sorted({o for found in frame_origins_by_platform().values() for o in found})


def forget_frame_origins() -> None:
    """Forget the origins here and in the shared cache (other processes within seconds)."""
    global _local_origins
    _local_origins = None
    cache.delete(FRAME_ORIGINS_CACHE_KEY)


def frame_ancestors(request: HttpRequest) -> str:
    if request.path.startswith(ADMIN_PREFIX):
        return "frame-ancestors 'self'"
    launch: LaunchContext | None = getattr(request, "launch", None)
    sources: Iterable[str]
    if launch is None:
        sources = frame_origins()
    else:
        sources = frame_origins_by_platform().get(launch.platform_id, [])
        if _SOURCE.match(launch.frame_origin):
            sources = sorted({*sources, launch.frame_origin})
    # A page about a platform not active yet (registration, "waiting for approval") may be
    # framed by that platform, which is not among the active ones.
    extra = [o for o in getattr(request, "frame_origins_extra", ()) if _SOURCE.match(o)]
    if extra:
        sources = sorted({*sources, *extra})
    return " ".join(["frame-ancestors 'self'", *sources])


# Every page: scripts and styles from our own origin only (no inline script, no eval), no
# plugins, no <base> rewriting. Inline *style attributes* stay allowed: progress bars set
# their width that way, and a style attribute cannot run code.
BASE_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
)


def content_security_policy(request: HttpRequest) -> str:
    """The page's policy: the base, where forms may post, and who may frame it."""
    targets = [o for o in getattr(request, "form_action_extra", ()) if _SOURCE.match(o)]
    form_action = " ".join(["form-action 'self'", *sorted(set(targets))])
    return "; ".join([*BASE_POLICY, form_action, frame_ancestors(request)])


class FrameAncestorsMiddleware:
    """A strict Content-Security-Policy on every response, its `frame-ancestors` listing only
    our own origin and the registered platforms' origins."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            # A response with its own, stricter policy (the certificate preview) keeps it, with
            # our framing rule added.
            response["Content-Security-Policy"] += "; " + frame_ancestors(request)
        else:
            response["Content-Security-Policy"] = content_security_policy(request)
        # CSP frame-ancestors supersedes X-Frame-Options; the latter would block LMS framing.
        if request.path.startswith(ADMIN_PREFIX):
            response["X-Frame-Options"] = "SAMEORIGIN"
        elif "X-Frame-Options" in response:
            del response["X-Frame-Options"]
        response.setdefault("Referrer-Policy", "same-origin")
        return response
