"""URLs of the instructor's pages (mounted by `completion.urls`, namespace `completion_risk`)."""

from __future__ import annotations

from django.urls import path

from completion.instructor import views

urlpatterns = [
    path("course/risk/", views.risk_dashboard, name="dashboard"),
    path("course/overview/", views.course_charts, name="charts"),
    path("course/criteria/", views.criteria_settings, name="criteria"),
    path(
        "course/learners/<int:membership_id>/status/",
        views.override_learner_status,
        name="override",
    ),
]
