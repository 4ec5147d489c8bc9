"""Binds a request id for the request's log lines and tasks, and counts the request."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from lti_tool.ops import metrics
from lti_tool.ops.logs import REQUEST_ID, accepted_request_id

# Probes and scrapes are not traffic: counting them would drown the figures in monitoring.
UNCOUNTED = ("/healthz/", "/readyz/", "/metrics")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accepted_request_id(request.headers.get("X-Request-ID"))
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            REQUEST_ID.reset(token)
        response["X-Request-ID"] = request_id
        if not request.path.startswith(UNCOUNTED):
            metrics.REQUEST_SECONDS.observe(time.perf_counter() - started)
            metrics.REQUESTS.labels(
                request.method or "", metrics.status_class(response.status_code)
            ).inc()
        return response
