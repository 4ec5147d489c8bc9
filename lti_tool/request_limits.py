"""Limits every request meets before any view: size (413), query text PostgreSQL cannot store
(400), and Django's own body limits answered as 413/400 with a plain reason rather than its
HTML error page.

A body larger than `FINISHLINE["MAX_REQUEST_BODY"]` is refused from its Content-Length. A
query string or page form holding NUL (`%00`) is refused: a filter such as `?q=a%00b` would
reach the database, which cannot store or compare NUL. Views that read their body as a stream (xAPI,
Caliper, the REST API) apply their own, documented limits; page forms are refused with 413
above `DATA_UPLOAD_MAX_MEMORY_SIZE`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse

DEFAULT_MAX_REQUEST_BODY = 25 * 1024 * 1024
API_PREFIXES = ("/xapi/", "/caliper/", "/api/")


def refusal(request: HttpRequest, message: str, status: int) -> HttpResponse:
    """A plain answer: JSON for the machine endpoints, text for pages."""
    if request.path.startswith(API_PREFIXES):
        response: HttpResponse = JsonResponse({"error": message}, status=status)
        if request.path.startswith("/xapi/"):
            response["X-Experience-API-Version"] = "1.0.3"
        return response
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _nul_in_query(request: HttpRequest) -> HttpResponse:
    """400 naming the parameters; on the REST API in its documented error shape
    (`{"<parameter>": ["<message>"]}`, as its validation errors)."""
    message = "may not contain NUL characters"
    if not request.path.startswith("/api/v1/"):
        return refusal(request, f"query parameters {message}", 400)
    names = [
        name.replace("\x00", "\\0")
        for name, values in request.GET.lists()
        if "\x00" in name or any("\x00" in v for v in values)
    ]
    return JsonResponse({name: [message] for name in names or ["query"]}, status=400)


class RequestLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self._refused(request) or self.get_response(request)

    def _refused(self, request: HttpRequest) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return refusal(request, "Content-Length is not a number", 400)
        limit = int(settings.FINISHLINE.get("MAX_REQUEST_BODY", DEFAULT_MAX_REQUEST_BODY))
        if length > limit:
            return refusal(request, f"the body is larger than the limit of {limit} bytes", 413)
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            return _nul_in_query(request)
        return None

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        """Page forms: Django parses them (for the CSRF check, or the view) beyond its in-memory
        limit only to raise and answer its HTML 400 page; and their fields reach queries."""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        urlencoded = request.content_type == "application/x-www-form-urlencoded"
        form = urlencoded or request.content_type == "multipart/form-data"
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        # The machine endpoints read their bodies as streams, with their own limits.
        if request.method != "POST" or not form or request.path.startswith(API_PREFIXES):
            return None
        if urlencoded and limit and length > limit:
            return refusal(request, f"the form is larger than the limit of {limit} bytes", 413)
        fields = request.POST.lists()
        if any("\x00" in key + "".join(values) for key, values in fields):
            return refusal(request, "form fields may not contain NUL characters", 400)
        return None

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return refusal(request, f"the body is larger than the limit of {limit} bytes", 413)
        if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
            return refusal(request, f"too many form fields: {exc}", 400)
        return None
