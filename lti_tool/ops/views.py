"""Probes, the metrics page and the admin health page.

`/healthz/` answers while the process serves requests; `/readyz/` while it can do its work
(database, broker, migrations, a worker alive). `/metrics` is for Prometheus: it answers only a
bearer token equal to FINISHLINE_METRICS_TOKEN or a client address in FINISHLINE_METRICS_ALLOW
(addresses or networks; loopback by default in the demo and tests, nothing in production).
Behind the proxy every client is the proxy's address, so there use the token.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from lti_tool.decorators import launch_of, launch_required
from lti_tool.models import Role
from lti_tool.ops import health
from lti_tool.ops.collectors import exposition


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    checks = health.readiness(now=timezone.now())
    ready = all(c.ok for c in checks)
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
    }
    return JsonResponse(body, status=200 if ready else 503)


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    default = "127.0.0.0/8,::1/128" if settings.LOCAL else ""
    raw = os.environ.get("FINISHLINE_METRICS_ALLOW", default)
    return [ipaddress.ip_network(n.strip(), strict=False) for n in raw.split(",") if n.strip()]


def metrics_allowed(request: HttpRequest) -> bool:
    token = os.environ.get("FINISHLINE_METRICS_TOKEN", "")
    offered = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _allowed_networks())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        raise Http404  # nothing says the page exists to those who may not read it
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


@require_GET
@launch_required(roles={Role.ADMIN})
def health_page(request: HttpRequest) -> HttpResponse:
    """The same checks and gauges as the probes and metrics, for an institution admin."""
    now = timezone.now()
    checks = health.readiness(now=now)
    return render(
        request,
        "ops/health.html",
        {
            "launch": launch_of(request),
            "checks": checks,
            "ready": all(c.ok for c in checks),
            "queue_depth": health.queue_depth(),
            "queues": health.state_counts(),
            "now": now,
        },
    )
