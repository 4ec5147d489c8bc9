"""URLs of the progress and risk API."""

from __future__ import annotations

from django.urls import path

from completion.api import risk_views

urlpatterns = [
    path(
        "api/risk/courses/<int:course_id>/",
        risk_views.CourseRiskListApi.as_view(),
        name="risk_course",
    ),
    path(
        "api/risk/learners/<int:membership_id>/",
        risk_views.LearnerRiskDetailApi.as_view(),
        name="risk_learner",
    ),
    path(
        "api/risk/learners/<int:membership_id>/history/",
        risk_views.LearnerRiskHistoryApi.as_view(),
        name="risk_learner_history",
    ),
]
