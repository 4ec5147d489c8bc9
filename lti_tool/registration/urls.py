"""URLs of LTI Dynamic Registration (see registration.py)."""

from __future__ import annotations

from django.urls import path

from lti_tool.registration import views as registration_views

app_name = "registration"

urlpatterns = [
    path("lti/canvas.json", registration_views.canvas_json, name="canvas_json"),
    path("lti/register/", registration_views.register_tool, name="register"),
    path(
        "lti/register/<str:code>/",
        registration_views.register_tool,
        name="register_with_link",
    ),
]
