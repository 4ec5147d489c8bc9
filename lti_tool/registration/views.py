"""The dynamic registration initiation URL: register, then tell the platform we are done.

The platform shows these pages in its own frame or window while it may still be pending (or
not yet registered at all), so the origin it registers from may frame them.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from lti_tool.origins import origin_of
from lti_tool.registration.canvas import canvas_configuration
from lti_tool.registration.dynamic import RegistrationFailed, configuration_origins, register

log = logging.getLogger("finishline.registration")


@require_GET
def register_tool(request: HttpRequest, code: str = "") -> HttpResponse:
    config_url = request.GET.get("openid_configuration", "")
    if not config_url:
        return render(request, "lti_tool/registration_help.html", status=400)
    request.frame_origins_extra = configuration_origins(config_url)  # type: ignore[attr-defined]
    try:
        platform = register(
            openid_configuration=config_url,
            registration_token=request.GET.get("registration_token", ""),
            actor=f"dynamic-registration:{request.META.get('REMOTE_ADDR', '')}",
            link_code=code,
        )
    except RegistrationFailed as exc:
        log.warning(
            "registration_failed code=%s status=%s reason=%r config=%s",
            exc.code,
            exc.status,
            exc.reason,
            config_url,
        )
        return render(
            request,
            "lti_tool/error.html",
            {
                "title": "Finishline could not be registered",
                "reason": exc.reason,
                "code": exc.code,
            },
            status=exc.status,
        )
    request.frame_origins_extra = sorted(  # type: ignore[attr-defined]
        {*configuration_origins(config_url), origin_of(platform.auth_login_url)} - {""}
    )
    return render(request, "lti_tool/registration_done.html", {"platform": platform})


@require_GET
def canvas_json(request: HttpRequest) -> HttpResponse:
    """The configuration Canvas reads when a Developer Key is made with "Enter URL"."""
    return JsonResponse(canvas_configuration(), json_dumps_params={"indent": 2})
