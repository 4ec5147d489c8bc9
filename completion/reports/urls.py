"""Report pages, mounted at /reports/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from completion.reports import views as report_views

app_name = "reports"

urlpatterns: list[URLPattern | URLResolver] = [
    path("compliance/", report_views.compliance, name="compliance"),
    path("compliance/export/", report_views.export_compliance, name="export"),
    path("exports/<str:token>/", report_views.download_export, name="download"),
    path("hr-roster/", report_views.hr_roster, name="hr_roster"),
    path("audit/", report_views.audit_export, name="audit"),
]
