from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from interventions.business import views

app_name = "business"

urlpatterns: list[URLPattern | URLResolver] = [
    path("survey/<str:token>/", views.survey, name="survey"),
    path("course/", views.course_outcomes, name="course"),
    path("next/", views.next_courses, name="next"),
    path("deployment/", views.deployment_outcomes, name="deployment"),
    path("deployment/settings/", views.attribution_settings, name="settings"),
    path("deployment/records/", views.enrolment_records, name="records"),
]
