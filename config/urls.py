from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("ops.urls")),
    path("", include("lti_tool.demo.urls")),
    path("", include("lti_tool.urls")),
    path("", include("lti_tool.registration.urls")),
    path("", include("completion.urls")),
    path("messages/", include("interventions.urls")),
    path("certificates/", include("certificates.urls")),
    path("api/v1/", include("config.api_urls")),
    path("reports/", include("completion.reports.urls")),
    path("console/", include("completion.console.urls")),
    path("business/", include("interventions.business.urls")),
    path("django-admin/", admin.site.urls),
]
