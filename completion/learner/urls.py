"""URLs of the learner's own pages (mounted by `completion.urls`, namespace `completion_risk`)."""

from __future__ import annotations

from django.urls import path

from completion.learner import views

urlpatterns = [
    path("me/progress/", views.my_progress, name="my_progress"),
]
