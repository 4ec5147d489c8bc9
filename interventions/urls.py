from __future__ import annotations

from django.urls import path

from interventions import views

app_name = "interventions"

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("pause/", views.pause, name="pause"),
    path("course/", views.course_interventions, name="course"),
]
