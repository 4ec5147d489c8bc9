from __future__ import annotations

from django.urls import path

from lti_tool.demo import views

app_name = "demo"

urlpatterns = [
    path("", views.home, name="home"),
    path("demo/lms/", views.lms_course, name="lms_course"),
    path("demo/platform/auth/", views.auth, name="auth"),
    path("demo/platform/jwks/", views.jwks, name="jwks"),
    path("demo/platform/token/", views.token, name="token"),
    path("demo/platform/nrps/", views.nrps, name="nrps"),
    path("demo/lms/enrol/", views.enrol, name="enrol"),
    path("demo/mail/", views.mail, name="mail"),
]
