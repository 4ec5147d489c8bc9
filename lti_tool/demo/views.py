"""The demo LMS: a start page, a course page framing the tool, and the platform endpoints."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from lti_tool.db.paging import asked
from lti_tool.demo import mailbox, platform
from lti_tool.keys.tool import public_jwks
from lti_tool.middleware import BASE_POLICY
from lti_tool.models import Membership, Platform, Role

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
    placement = request.GET.get("placement", "")
    # On an origin of its own (FINISHLINE_DEMO_LMS_URL) the frame names the tool's origin.
    tool = settings.TOOL_BASE_URL if platform.lms_url() != settings.TOOL_BASE_URL else ""
    login_url = f"{tool}/lti/login/?" + urlencode(
        {
            "iss": platform.issuer(),
            "client_id": platform.CLIENT_ID,
            "login_hint": ROLES[role],
            "lti_message_hint": new_hint(role, placement),
            "lti_deployment_id": platform.DEPLOYMENT_ID,
            "target_link_uri": settings.TOOL_BASE_URL + "/lti/launch/",
        }
    )
    response = render(
        request,
        "demo/lms_course.html",
        {"role": role, "login_url": login_url, "local": settings.LOCAL, "placement": placement,
         "enrolled": request.GET.get("enrolled", "")},
    )  # fmt: skip
    if tool:
        response["Content-Security-Policy"] = framing_policy(tool)
    return response


def framing_policy(tool_origin: str) -> str:
    """The base policy, with the tool's origin allowed in frames (the LMS page frames it)."""
    policy = [
        f"frame-src 'self' {tool_origin}" if p.startswith("frame-src") else p for p in BASE_POLICY
    ]
    return "; ".join([*policy, "form-action 'self'"])


@require_POST
def enrol(request: HttpRequest) -> HttpResponse:
    """The demo LMS's own people page: enrol a learner, whom Finishline learns of from NRPS
    (at the next staff launch, or the nightly sync)."""
    if not _demo_enabled():
        raise Http404("The demo is not set up.")
    name = request.POST.get("name", "").strip()
    if name:
        platform.enrol_learner(name)
    query = urlencode({"as": "instructor", "enrolled": name[:60]})
    return redirect(reverse("demo:lms_course") + "?" + query)


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
    hint = spend_hint(request.GET.get("lti_message_hint", ""))
    if hint is None:
        return HttpResponse("lti_message_hint already used or unknown.", status=400)
    role, _, placement = hint.partition(" ")
    sub = request.GET.get("login_hint", "")
    if role not in _roles() or sub not in platform.PEOPLE:
        return HttpResponse("Unknown user.", status=400)
    token = platform.id_token(
        sub=sub, role=role, nonce=request.GET.get("nonce", ""), placement=placement
    )
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


TOKEN_PREFIX = "finishline:demo-token:"
TOKEN_SECONDS = 3600


@csrf_exempt  # an OAuth2 client-credentials request from the tool's server, not a browser
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    """OAuth2 client credentials (LTI Security 1.0): a bearer token for the tool, given a
    client assertion signed with one of its published keys."""
    if not _demo_enabled():
        raise Http404("The demo is not set up.")
    assertion = request.POST.get("client_assertion", "")
    try:
        kid = jwt.get_unverified_header(assertion).get("kid")
        jwk = next(k for k in public_jwks()["keys"] if k.get("kid") == kid)
        jwt.decode(assertion, jwt.PyJWK(jwk).key, algorithms=["RS256"],
                   audience=platform.issuer() + "/token/")  # fmt: skip
    except (jwt.PyJWTError, StopIteration):
        return JsonResponse({"error": "invalid_client"}, status=401)
    access = secrets.token_urlsafe(24)
    cache.set(TOKEN_PREFIX + access, 1, TOKEN_SECONDS)
    scope = request.POST.get("scope", "")
    return JsonResponse({"access_token": access, "token_type": "Bearer",
                         "expires_in": TOKEN_SECONDS, "scope": scope})  # fmt: skip


@require_GET
def nrps(request: HttpRequest) -> HttpResponse:
    """Names and Role Provisioning Service 2.0: the demo course's members."""
    if not _demo_enabled():
        raise Http404("The demo is not set up.")
    bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not bearer or not cache.get(TOKEN_PREFIX + bearer):
        return JsonResponse({"error": "invalid_token"}, status=401)
    current = [
        (sub, name, email, "Learner" if role == Role.LEARNER else "Instructor")
        for sub, name, email, role in Membership.objects.filter(
            course__context_id=platform.CONTEXT_ID, status=Membership.Status.ACTIVE,
            course__deployment__deployment_id=platform.DEPLOYMENT_ID,
            course__deployment__platform__issuer=platform.issuer(),
        ).values_list("person__sub", "person__name", "person__email", "role")
    ]  # fmt: skip
    return JsonResponse(
        {"id": platform.nrps_url(), "context": {"id": platform.CONTEXT_ID},
         "members": platform.roster(current)},
        content_type="application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
    )  # fmt: skip


def new_hint(role: str, placement: str = "") -> str:
    hint = secrets.token_urlsafe(16)
    cache.set(HINT_PREFIX + hint, f"{role} {placement}".strip(), HINT_SECONDS)
    return hint


def spend_hint(hint: str) -> str | None:
    """The role (and placement) a hint was made for, once: a second use finds nothing (real
    Moodle's rule)."""
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
    page = asked(request.GET)
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
