"""The dynamic registration initiation URL: register, then tell the platform we are done."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from lti_tool.registration.dynamic import RegistrationFailed, register

log = logging.getLogger("finishline.registration")


@xframe_options_exempt
@require_GET
def register_tool(request: HttpRequest) -> HttpResponse:
    config_url = request.GET.get("openid_configuration", "")
    if not config_url:
        return render(request, "lti_tool/registration_help.html", status=400)
    try:
        platform = register(
            openid_configuration=config_url,
            registration_token=request.GET.get("registration_token", ""),
            actor=f"dynamic-registration:{request.META.get('REMOTE_ADDR', '')}",
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
    return render(request, "lti_tool/registration_done.html", {"platform": platform})
