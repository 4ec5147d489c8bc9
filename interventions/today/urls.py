"""The Today page (mounted at /course/today/ by the project's URLs, namespace `today`)."""

from __future__ import annotations

from django.urls import path

from interventions.today import views

app_name = "today"

urlpatterns = [
    path("", views.today, name="course"),
]
