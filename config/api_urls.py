"""URLs of the read-only REST API v1 (mounted at /api/v1/) and its OpenAPI schema.

The schema covers these endpoints only: it is generated from `endpoints` below, not from the
whole site. There is no docs UI: Swagger UI would load from a CDN, and these machines are offline.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView

from certificates.api.views import CertificateListApi
from completion.api import v1_views
from interventions.api.views import InterventionListApi, MessageListApi

COURSE = "courses/<int:course_id>/"

endpoints: list[URLPattern | URLResolver] = [
    path("courses/", v1_views.CourseListApi.as_view(), name="api_v1_courses"),
    path(COURSE, v1_views.CourseDetailApi.as_view(), name="api_v1_course"),
    path(COURSE + "learners/", v1_views.LearnerListApi.as_view(), name="api_v1_learners"),
    path(
        COURSE + "learners/<int:membership_id>/",
        v1_views.LearnerDetailApi.as_view(),
        name="api_v1_learner",
    ),
    path(COURSE + "interventions/", InterventionListApi.as_view(), name="api_v1_interventions"),
    path(COURSE + "messages/", MessageListApi.as_view(), name="api_v1_messages"),
    path(COURSE + "certificates/", CertificateListApi.as_view(), name="api_v1_certificates"),
    path(COURSE + "report/", v1_views.CourseReportApi.as_view(), name="api_v1_report"),
]

SCHEMA_SETTINGS = {
    "TITLE": "Finishline API",
    "VERSION": "1",
    "DESCRIPTION": (
        "Read-only access to one deployment's courses, learners' progress and risk, "
        "interventions, certificates and completion reports. Authenticate with an API "
        "credential of the deployment: `Authorization: Bearer <key>.<secret>`."
    ),
}

urlpatterns: list[URLPattern | URLResolver] = [
    *endpoints,
    path(
        "schema/",
        SpectacularAPIView.as_view(
            urlconf=[path("api/v1/", include(endpoints))], custom_settings=SCHEMA_SETTINGS
        ),
        name="api_v1_schema",
    ),
]
