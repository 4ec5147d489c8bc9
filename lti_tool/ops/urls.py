from __future__ import annotations

from django.urls import path

from lti_tool.ops import views

app_name = "ops"

urlpatterns = [
    path("healthz/", views.healthz, name="healthz"),
    path("readyz/", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("console/health/", views.health_page, name="health"),
]
