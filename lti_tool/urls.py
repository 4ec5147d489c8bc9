from __future__ import annotations

from django.urls import path

from lti_tool import views

app_name = "lti_tool"

urlpatterns = [
    path("lti/login/", views.login, name="login"),
    path("lti/launch/", views.launch, name="launch"),
    path("lti/jwks/", views.jwks, name="jwks"),
    path("lti/deep-link/", views.deep_link_respond, name="deep_link_respond"),
    path("lti/ticket/", views.ticket, name="ticket"),
    path("course/", views.course_home, name="course_home"),
    path("me/", views.learner_home, name="learner_home"),
    path("me/data/", views.my_data, name="my_data"),
    path("institution/", views.admin_home, name="admin_home"),
]
