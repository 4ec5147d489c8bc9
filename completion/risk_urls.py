"""URLs of the risk engine: instructor pages and the API (included once from completion.urls)."""

from __future__ import annotations

from django.urls import include, path

from completion import learner_views, risk_views

app_name = "completion_risk"

urlpatterns = [
    path("course/risk/", risk_views.risk_dashboard, name="dashboard"),
    path("me/progress/", learner_views.my_progress, name="my_progress"),
    path("course/overview/", risk_views.course_charts, name="charts"),
    path("course/criteria/", risk_views.criteria_settings, name="criteria"),
    path(
        "course/learners/<int:membership_id>/status/",
        risk_views.override_learner_status,
        name="override",
    ),
    path("", include("completion.api.risk_urls")),
]
