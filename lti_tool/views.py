"""LTI endpoints (login, launch, JWKS, deep linking) and the role landing pages."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from typing import Literal

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.urls import resolve, reverse
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lti_tool import claims as lti_claims
from lti_tool import selectors
from lti_tool.audit import privacy, readable
from lti_tool.audit.trail import append_audit
from lti_tool.context import LaunchContext
from lti_tool.decorators import launch_of, launch_required
from lti_tool.keys import tool as keys
from lti_tool.launch import deep_linking, sessions
from lti_tool.launch.flow import (
    STATE_COOKIE_PREFIX,
    LaunchRejected,
    ValidatedLaunch,
    begin_login,
    course_page_url,
    login_state_for,
    relogin_query,
    validate_launch,
)
from lti_tool.middleware import binding_cookie_name
from lti_tool.models import Role
from lti_tool.ops import metrics
from lti_tool.origins import origin_of
from lti_tool.selectors import STAFF_ROLES
from lti_tool.services import record_launch, role_landing

log = logging.getLogger("finishline.launch")

# Who may add Finishline to a course through deep linking (advisors only read).
DEEP_LINK_ROLES = frozenset({Role.ADMIN, Role.INSTRUCTOR, Role.TEACHING_ASSISTANT})


def rejected(request: HttpRequest, exc: LaunchRejected, step: str) -> HttpResponse:
    """One place turns a refusal into a page for the person and a structured log line."""
    request.frame_origins_extra = exc.frame_origins  # type: ignore[attr-defined]
    metrics.REFUSALS.labels(step, exc.code).inc()
    log.warning(
        "lti_rejected step=%s code=%s status=%s reason=%r remote=%s",
        step,
        exc.code,
        exc.status,
        exc.reason,
        request.META.get("REMOTE_ADDR", ""),
    )
    return render(
        request,
        "lti_tool/error.html",
        {"title": "Finishline could not open", "reason": exc.reason, "code": exc.code},
        status=exc.status,
    )


def set_cookie(
    response: HttpResponse, name: str, value: str, *, max_age: int, http_only: bool = True
) -> None:
    """An HttpOnly cookie that survives the LMS frame where the browser allows it.

    Over https it is `SameSite=None; Secure; Partitioned` (CHIPS): browsers that block
    third-party cookies still keep a partitioned one, keyed to the LMS's site. Over plain http
    (the local demo) it is `SameSite=Lax`, which only works when tool and LMS share a site.
    """
    cross_site = settings.COOKIES_CROSS_SITE
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        secure=cross_site,
        httponly=http_only,
        samesite="None" if cross_site else "Lax",
    )
    if cross_site:
        # Python's cookie module (before 3.14) knows no Partitioned attribute; SameSite's
        # value is written as given, so the attribute rides on it.
        response.cookies[name]["samesite"] = "None; Partitioned"


def _state_cookie(response: HttpResponse, state: str, *, delete: bool = False) -> None:
    if delete:
        samesite: Literal["None", "Lax"] = "None" if settings.COOKIES_CROSS_SITE else "Lax"
        response.delete_cookie(STATE_COOKIE_PREFIX + state, samesite=samesite)
        return
    set_cookie(response, STATE_COOKIE_PREFIX + state, state, max_age=600)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    params = {key: str(source.get(key, "")) for key in source}
    try:
        login_redirect = begin_login(params)
    except LaunchRejected as exc:
        return rejected(request, exc, "login")
    response: HttpResponse
    if login_redirect.storage_target:
        response = render(
            request,
            "lti_tool/login_storage.html",
            {"redirect": login_redirect, "timeout_ms": settings.FINISHLINE["STORAGE_TIMEOUT_MS"]},
        )
    elif in_cross_site_frame(request):
        # No platform storage, and the state cookie may never come back from inside another
        # site's frame: check now, while the platform's lti_message_hint is still unspent.
        query = relogin_query(params)
        response = render(
            request,
            "lti_tool/login_check.html",
            {
                "check": {"auth_url": login_redirect.auth_url, "state": login_redirect.state},
                "relogin_url": reverse("lti_tool:login") + "?" + query,
            },
        )
        set_cookie(response, PROBE_COOKIE, login_redirect.state, max_age=600, http_only=False)
    else:
        response = HttpResponseRedirect(login_redirect.auth_url)
    _state_cookie(response, login_redirect.state)
    return response


PROBE_COOKIE = "finishline-probe"


def in_cross_site_frame(request: HttpRequest) -> bool:
    """The request loads a frame inside another site's page (Fetch Metadata headers)."""
    meta = request.META
    return bool(
        meta.get("HTTP_SEC_FETCH_DEST") == "iframe"
        and meta.get("HTTP_SEC_FETCH_SITE") == "cross-site"
    )


@csrf_exempt
@require_POST
def launch(request: HttpRequest) -> HttpResponse:
    try:
        validated = validate_launch(request)
        binding = request.COOKIES.get(binding_cookie_name()) or sessions.new_binding()
        # One transaction, one commit: the consumed nonce, the recorded launch and its session.
        with transaction.atomic():
            recorded = record_launch(validated)
            opened = sessions.open_session(
                dataclasses.replace(
                    recorded.context, frame_origin=origin_of(validated.claims.return_url)
                ),
                binding=binding,
            )
    except LaunchRejected as exc:
        if exc.code == "state_unbound":
            return cookie_blocked(request, exc)
        return rejected(request, exc, "launch")
    context = opened.context
    request.launch = context  # type: ignore[attr-defined]  # the page is framed by it
    request.launch_token = opened.token  # type: ignore[attr-defined]
    request.launch_membership = recorded.membership  # type: ignore[attr-defined]  # the landing's
    metrics.LAUNCHES.labels(context.message_type).inc()
    log.info(
        "lti_launch platform=%s deployment=%s person=%s course=%s role=%s message=%s",
        context.platform_id,
        context.deployment_id,
        context.person_id,
        context.course_id,
        context.role,
        context.message_type,
    )
    response = _after_launch(request, validated, context)
    _state_cookie(response, request.POST.get("state", ""), delete=True)
    set_cookie(response, binding_cookie_name(), binding, max_age=sessions.max_age_seconds())
    return response


def _after_launch(
    request: HttpRequest, validated: ValidatedLaunch, context: LaunchContext
) -> HttpResponse:
    """The page the launch opens, served in the launch's own response (no redirect)."""
    message_type = validated.claims.message_type
    if message_type == lti_claims.DEEP_LINKING_REQUEST:
        if context.role not in DEEP_LINK_ROLES:
            return _not_for_role(request)
        return render(
            request,
            "lti_tool/deep_link_picker.html",
            {
                "placements": deep_linking.PLACEMENTS,
                "dl": deep_linking.remember_request(validated, context),
            },
        )
    if message_type == lti_claims.DATA_PRIVACY_REQUEST:
        return serve_page(request, reverse("lti_tool:learner_home"), "privacy=1")
    placement = validated.claims.custom.get("finishline_placement", "")
    return serve_page(request, reverse(role_landing(context, placement)))


def serve_page(request: HttpRequest, path: str, query: str = "") -> HttpResponse:
    """Render the page at `path` as a GET, within this request (the launch's POST).

    The page's script then shows `path` in the address bar (`page_url`), so a reload or the
    back button asks for that page, not the spent launch.
    """
    page = copy.copy(request)
    page.method = "GET"
    page.META = {**request.META, "REQUEST_METHOD": "GET", "QUERY_STRING": query}
    page.GET = QueryDict(query)
    page._post = QueryDict()  # type: ignore[attr-defined]
    page._files = MultiValueDict()  # type: ignore[attr-defined]
    page.path = page.path_info = path
    page.page_url = path + ("?" + query if query else "")  # type: ignore[attr-defined]
    match = resolve(path)
    response: HttpResponse = match.func(page, *match.args, **match.kwargs)
    return response


def _not_for_role(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "lti_tool/error.html",
        {
            "title": "Not available for your role",
            "reason": "Your role in this course does not give access to this page.",
        },
        status=403,
    )


def cookie_blocked(request: HttpRequest, exc: LaunchRejected) -> HttpResponse:
    """No state cookie came back: verify through platform storage, or offer a new window."""
    state = request.POST.get("state", "")
    found = login_state_for(state)
    login_state, platform = found if found is not None else (None, None)
    if login_state is not None and platform is not None and login_state.storage_target:
        log.info("lti_storage_check platform=%s", login_state.platform_id)
        return render(
            request,
            "lti_tool/launch_storage.html",
            {
                "id_token": request.POST.get("id_token", ""),
                "state": login_state.state,
                "storage_target": login_state.storage_target,
                "platform_origin": origin_of(platform.auth_login_url),
                "timeout_ms": settings.FINISHLINE["STORAGE_TIMEOUT_MS"],
            },
        )
    if request.POST.get("lti_repost") != "1" and request.META.get("HTTP_SEC_FETCH_DEST") == (
        "document"
    ):
        # A top-level window: a SameSite=Lax cookie does not ride on the platform's cross-site
        # POST, but it does on the same post repeated from our own page.
        return render(
            request,
            "lti_tool/launch_repost.html",
            {"id_token": request.POST.get("id_token", ""), "state": state},
        )
    metrics.REFUSALS.labels("launch", exc.code).inc()
    log.warning(
        "lti_rejected step=launch code=%s status=400 reason=%r remote=%s",
        exc.code,
        exc.reason,
        request.META.get("REMOTE_ADDR", ""),
    )
    return render(
        request,
        "lti_tool/new_window.html",
        {
            "code": exc.code,
            "course_url": course_page_url(request.POST.get("id_token", ""), platform),
        },
        status=400,
    )


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(keys.public_jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_POST
@launch_required(roles=DEEP_LINK_ROLES)
def deep_link_respond(request: HttpRequest) -> HttpResponse:
    try:
        response = deep_linking.respond(
            launch_of(request), request.POST.get("dl", ""), request.POST.getlist("placement")
        )
    except signing.BadSignature:
        return rejected(
            request,
            LaunchRejected(
                "This deep linking request expired or belongs to another launch; "
                "start again from your course.",
                code="deep_link",
            ),
            "deep_link",
        )
    # The page posts the answer back to the platform: its origin is a form target.
    request.form_action_extra = [origin_of(response.return_url)]  # type: ignore[attr-defined]
    return render(request, "lti_tool/deep_link_return.html", {"response": response})


@launch_required(roles=STAFF_ROLES)
def course_home(request: HttpRequest) -> HttpResponse:
    """The course's first screen is the Today page (interventions), by URL name."""
    launch = launch_of(request)
    selectors.access_course(launch, launch.course_id or 0, staff=True)
    return redirect(reverse("today:course"))


@launch_required()
def learner_home(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    if launch.membership_id:
        # The learner's page lives with the progress it shows (completion), by URL name.
        return redirect(reverse("completion_risk:my_progress"))
    return render(
        request,
        "lti_tool/learner_home.html",
        {
            "membership": None,  # a launch outside a course (a data-privacy request)
            "person": selectors.launch_person(launch),
            "launch": launch,
            "privacy_request": request.GET.get("privacy") == "1",
        },
    )


@launch_required()
def my_data(request: HttpRequest) -> HttpResponse:
    """Everything Finishline holds about the person launching: shown, or as JSON or CSV."""
    launch = launch_of(request)
    person = selectors.launch_person(launch)
    data = privacy.collect(person)
    fmt = request.GET.get("format", "")
    if fmt in ("json", "csv"):
        body = privacy.as_json(data) if fmt == "json" else privacy.as_csv_zip(data)
        kind = "application/json" if fmt == "json" else "application/zip"
        response = HttpResponse(body, content_type=kind)
        name = f"finishline-my-data.{'json' if fmt == 'json' else 'zip'}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        append_audit(actor=f"person:{person.pk}", action="privacy.export", obj=person,
                     deployment=person.deployment, data={"format": fmt})  # fmt: skip
        return response
    return render(
        request,
        "lti_tool/my_data.html",
        {"sections": readable.sections(data, me=f"person:{person.pk}")},
    )


@launch_required(roles={Role.ADMIN})
def admin_home(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    return render(
        request,
        "lti_tool/admin_home.html",
        {
            "platforms": selectors.platforms_for_admin(launch),
            "person": selectors.launch_person(launch),
            "launch": launch,
        },
    )


@require_POST
@launch_required()
def ticket(request: HttpRequest) -> HttpResponse:
    """A single-use ticket for a download link of this site (a plain navigation)."""
    try:
        path = str(json.loads(request.body or b"{}").get("path", ""))
    except (ValueError, AttributeError):
        path = ""
    if not path.startswith("/") or path.startswith("//") or len(path) > 500:
        return HttpResponseBadRequest("A path on this site is required.")
    return JsonResponse({"ticket": sessions.issue_ticket(launch_of(request), path)})
