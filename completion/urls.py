"""URLs of the engagement-data endpoints (xAPI) and the risk pages and API."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, re_path

from completion import caliper_views, xapi_views
from completion.api.ingest_views import EventIngestApi

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(r"^xapi/statements/?$", xapi_views.statements, name="xapi_statements"),
    re_path(r"^xapi/about/?$", xapi_views.about, name="xapi_about"),
    re_path(r"^caliper/events/?$", caliper_views.events, name="caliper_events"),
    path("api/v1/events", EventIngestApi.as_view(), name="api_events"),
    path("", include("completion.risk_urls")),  # progress, risk
]
