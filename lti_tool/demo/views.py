"""The demo LMS: a start page, a course page framing the tool, and the platform endpoints."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from lti_tool.demo import mailbox, platform
from lti_tool.middleware import BASE_POLICY
from lti_tool.models import Platform

# Like Moodle, the demo LMS names each launch with a one-time lti_message_hint: its course
# page makes a new one, and the authorization endpoint accepts it once.
HINT_PREFIX = "finishline:demo-hint:"
HINT_SECONDS = 600
MAIL_PER_PAGE = 25

ROLES = {
    "instructor": platform.INSTRUCTOR_SUB,
    "learner": platform.LEARNER_SUBS[0],
    "admin": platform.ADMIN_SUB,
}


def _demo_enabled() -> bool:
    """Switched on (the local modes, or FINISHLINE_DEMO_LMS=on) and seeded (`seed_demo`)."""
    return bool(
        settings.DEMO_LMS
        and Platform.objects.filter(issuer=platform.issuer(), client_id=platform.CLIENT_ID).exists()
    )


def _roles() -> dict[str, str]:
    # The demo admin sees the console across platforms: never offered outside the local modes.
    return ROLES if settings.LOCAL else {k: v for k, v in ROLES.items() if k != "admin"}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "demo/home.html",
        {"demo": _demo_enabled(), "roles": _roles(), "local": settings.LOCAL},
    )


@require_GET
def lms_course(request: HttpRequest) -> HttpResponse:
    """A course page of the demo LMS with Finishline in an iframe, as Canvas or Moodle shows it."""
    role = request.GET.get("as", "learner")
    if not _demo_enabled() or role not in _roles():
        raise Http404("The demo is not set up.")
    # On an origin of its own (FINISHLINE_DEMO_LMS_URL) the frame names the tool's origin.
    tool = settings.TOOL_BASE_URL if platform.lms_url() != settings.TOOL_BASE_URL else ""
    login_url = f"{tool}/lti/login/?" + urlencode(
        {
            "iss": platform.issuer(),
            "client_id": platform.CLIENT_ID,
            "login_hint": ROLES[role],
            "lti_message_hint": new_hint(role),
            "lti_deployment_id": platform.DEPLOYMENT_ID,
            "target_link_uri": settings.TOOL_BASE_URL + "/lti/launch/",
        }
    )
    response = render(
        request,
        "demo/lms_course.html",
        {"role": role, "login_url": login_url, "local": settings.LOCAL},
    )
    if tool:
        response["Content-Security-Policy"] = framing_policy(tool)
    return response


def framing_policy(tool_origin: str) -> str:
    """The base policy, with the tool's origin allowed in frames (the LMS page frames it)."""
    policy = [
        f"frame-src 'self' {tool_origin}" if p.startswith("frame-src") else p for p in BASE_POLICY
    ]
    return "; ".join([*policy, "form-action 'self'"])


@require_GET
def auth(request: HttpRequest) -> HttpResponse:
    """OIDC authentication: answer the tool's login redirect with a signed id_token."""
    if not _demo_enabled():
        raise Http404("The demo is not set up.")
    expected = settings.TOOL_BASE_URL + "/lti/launch/"
    if (
        request.GET.get("client_id") != platform.CLIENT_ID
        or request.GET.get("redirect_uri") != expected
    ):
        return HttpResponse("Unknown client or redirect_uri.", status=400)
    role = spend_hint(request.GET.get("lti_message_hint", ""))
    if role is None:
        return HttpResponse("lti_message_hint already used or unknown.", status=400)
    sub = request.GET.get("login_hint", "")
    if role not in _roles() or sub not in platform.PEOPLE:
        return HttpResponse("Unknown user.", status=400)
    token = platform.id_token(sub=sub, role=role, nonce=request.GET.get("nonce", ""))
    if platform.lms_url() != settings.TOOL_BASE_URL:
        # The page posts the id_token to the tool, on another origin.
        request.form_action_extra = [settings.TOOL_BASE_URL]  # type: ignore[attr-defined]
    return render(
        request,
        "demo/auth_post.html",
        {
            "action": expected,
            "id_token": token,
            "state": request.GET.get("state", ""),
        },
    )


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    if not _demo_enabled():
        raise Http404("The demo is not set up.")
    return JsonResponse(platform.jwks())


def new_hint(role: str) -> str:
    hint = secrets.token_urlsafe(16)
    cache.set(HINT_PREFIX + hint, role, HINT_SECONDS)
    return hint


def spend_hint(hint: str) -> str | None:
    """The role a hint was made for, once: a second use finds nothing (real Moodle's rule)."""
    key = HINT_PREFIX + hint
    role: str | None = cache.get(key) if hint else None
    if role is None or not cache.delete(key):
        return None
    return role


@require_GET
def mail(request: HttpRequest) -> HttpResponse:
    """What Finishline sent in the demo: the local mail catcher's messages, newest first."""
    if not (_demo_enabled() and settings.LOCAL):
        raise Http404("The demo is not set up.")
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    mails, total = mailbox.read(settings.DEMO_MAILDIR, page=page, per_page=MAIL_PER_PAGE)
    pages = max((total + MAIL_PER_PAGE - 1) // MAIL_PER_PAGE, 1)
    return render(
        request,
        "demo/mail.html",
        {
            "mails": mails,
            "total": total,
            "page": min(page, pages),
            "pages": pages,
            "smtp": f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}",
            "catching": bool(settings.DEMO_MAILDIR),
        },
    )
