from __future__ import annotations

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from interventions.views import follow_link

urlpatterns = [
    # Browsers ask for /favicon.ico before reading the page's icon link.
    path("favicon.ico", RedirectView.as_view(url=static("finishline/icon.svg"), permanent=True)),
    path("", include("lti_tool.ops.urls")),
    path("", include("lti_tool.demo.urls")),
    path("", include("lti_tool.urls")),
    path("", include("lti_tool.registration.urls")),
    path("", include("completion.urls")),
    path("messages/", include("interventions.urls")),
    path("m/<str:token>/", follow_link, name="follow_link"),
    path("course/today/", include("interventions.today.urls")),
    path("certificates/", include("certificates.urls")),
    path("api/v1/", include("config.api_urls")),
    path("reports/", include("completion.reports.urls")),
    path("console/", include("completion.console.urls")),
    path("business/", include("interventions.business.urls")),
    path("django-admin/", admin.site.urls),
]
