"""LTI endpoints (login, launch, JWKS, deep linking) and the role landing pages."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lti_tool import deep_linking, keys, selectors
from lti_tool.decorators import launch_of, launch_required
from lti_tool.launch import (
    STATE_COOKIE_PREFIX,
    LaunchRejected,
    begin_login,
    login_state_for,
    validate_launch,
)
from lti_tool.models import Role
from lti_tool.selectors import STAFF_ROLES
from lti_tool.services import record_launch, role_landing

log = logging.getLogger("finishline.launch")


def rejected(request: HttpRequest, exc: LaunchRejected, step: str) -> HttpResponse:
    """One place turns a refusal into a page for the person and a structured log line."""
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
        {
            "title": "Finishline could not open",
            "reason": exc.reason,
            "code": exc.code,
        },
        status=exc.status,
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    params = {key: str(source.get(key, "")) for key in source}
    try:
        login_redirect = begin_login(params)
    except LaunchRejected as exc:
        return rejected(request, exc, "login")
    if login_redirect.storage_target:
        response: HttpResponse = render(
            request,
            "lti_tool/login_storage.html",
            {
                "redirect": login_redirect,
            },
        )
    else:
        response = HttpResponseRedirect(login_redirect.auth_url)
    response.set_cookie(
        STATE_COOKIE_PREFIX + login_redirect.state,
        login_redirect.state,
        max_age=600,
        secure=settings.COOKIES_CROSS_SITE,
        httponly=True,
        samesite="None" if settings.COOKIES_CROSS_SITE else "Lax",
    )
    return response


@csrf_exempt
@require_POST
def launch(request: HttpRequest) -> HttpResponse:
    try:
        # One transaction, one commit: the consumed nonce and the recorded launch together.
        with transaction.atomic():
            validated = validate_launch(request)
            recorded = record_launch(validated)
    except LaunchRejected as exc:
        if exc.code == "state_unbound":
            return cookie_blocked(request, exc)
        return rejected(request, exc, "launch")
    token = recorded.context.sign()
    response: HttpResponse
    if validated.claims.message_type == "LtiDeepLinkingRequest":
        response = render(
            request,
            "lti_tool/deep_link_picker.html",
            {
                "placements": deep_linking.PLACEMENTS,
                "lt": token,
                "dl": deep_linking.remember_request(validated),
            },
        )
    elif validated.claims.message_type == "DataPrivacyLaunchRequest":
        response = redirect(reverse("lti_tool:learner_home") + f"?lt={token}&privacy=1")
    else:
        response = redirect(reverse(role_landing(recorded.context.role)) + f"?lt={token}")
    response.delete_cookie(STATE_COOKIE_PREFIX + request.POST.get("state", ""))
    return response


def cookie_blocked(request: HttpRequest, exc: LaunchRejected) -> HttpResponse:
    """No state cookie came back: verify through platform storage, or offer a new window."""
    login_state = login_state_for(request.POST.get("state", ""))
    if login_state is not None and login_state.storage_target:
        return render(
            request,
            "lti_tool/launch_storage.html",
            {
                "id_token": request.POST.get("id_token", ""),
                "state": login_state.state,
                "storage_target": login_state.storage_target,
                "platform_origin": login_state.platform.auth_login_url,
            },
        )
    log.warning("lti_rejected step=launch code=%s reason=%r", exc.code, exc.reason)
    return render(
        request,
        "lti_tool/new_window.html",
        {
            "target": login_state.target_link_uri if login_state else "",
            "code": exc.code,
        },
        status=400,
    )


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(keys.public_jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_POST
@launch_required(roles=STAFF_ROLES)
def deep_link_respond(request: HttpRequest) -> HttpResponse:
    try:
        jwt_value, return_url = deep_linking.respond(
            launch_of(request),
            request.POST.get("dl", ""),
            request.POST.getlist("placement"),
        )
    except signing.BadSignature:
        return rejected(
            request,
            LaunchRejected("The deep linking request has expired.", code="deep_link"),
            "deep_link",
        )
    return render(
        request, "lti_tool/deep_link_return.html", {"jwt": jwt_value, "return_url": return_url}
    )


@launch_required(roles=STAFF_ROLES)
def course_home(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    course = selectors.access_course(launch, launch.course_id or 0, staff=True)
    return render(
        request,
        "lti_tool/course_home.html",
        {
            "course": course,
            "person": selectors.launch_person(launch),
            "launch": launch,
            "lt": request.GET.get("lt", ""),
        },
    )


@launch_required()
def learner_home(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    membership = (
        selectors.access_membership(launch, launch.membership_id) if launch.membership_id else None
    )
    return render(
        request,
        "lti_tool/learner_home.html",
        {
            "membership": membership,
            "person": selectors.launch_person(launch),
            "launch": launch,
            "privacy_request": request.GET.get("privacy") == "1",
            "lt": request.GET.get("lt", ""),
        },
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
            "lt": request.GET.get("lt", ""),
        },
    )
