"""URLs of the engagement-data endpoints (xAPI, Caliper, REST) and the progress and risk pages.

The instructor's and the learner's pages and the risk API share the `completion_risk` namespace.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, re_path

from completion.api import risk_urls as risk_api_urls
from completion.api.ingest_views import EventIngestApi, HistoryIngestApi
from completion.ingest.caliper import views as caliper_views
from completion.ingest.xapi import resources as xapi_resources
from completion.ingest.xapi import views as xapi_views
from completion.instructor import urls as instructor_urls
from completion.learner import urls as learner_urls

progress_and_risk: list[URLPattern | URLResolver] = [
    *instructor_urls.urlpatterns,
    *learner_urls.urlpatterns,
    *risk_api_urls.urlpatterns,
]

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(r"^xapi/statements/?$", xapi_views.statements, name="xapi_statements"),
    re_path(r"^xapi/about/?$", xapi_views.about, name="xapi_about"),
    re_path(r"^xapi/activities/state/?$", xapi_resources.state, name="xapi_state"),
    re_path(
        r"^xapi/activities/profile/?$",
        xapi_resources.activity_profile,
        name="xapi_activity_profile",
    ),
    re_path(r"^xapi/activities/?$", xapi_resources.activities, name="xapi_activities"),
    re_path(r"^xapi/agents/profile/?$", xapi_resources.agent_profile, name="xapi_agent_profile"),
    re_path(r"^xapi/agents/?$", xapi_resources.agents, name="xapi_agents"),
    re_path(r"^caliper/events/?$", caliper_views.events, name="caliper_events"),
    path("api/v1/events", EventIngestApi.as_view(), name="api_events"),
    path("api/v1/history/<str:kind>", HistoryIngestApi.as_view(), name="api_history"),
    path("", include((progress_and_risk, "completion_risk"))),
]
