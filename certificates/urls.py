from __future__ import annotations

from django.urls import path

from certificates import views

app_name = "certificates"

urlpatterns = [
    path("verify/", views.verify_lookup, name="lookup"),
    path("verify/<str:serial>/", views.verify, name="verify"),
    path("keys.json", views.keys, name="keys"),
    path("status/<int:deployment_id>/revocation", views.status_list, name="status_list"),
    path("issuer/<int:deployment_id>", views.issuer, name="issuer"),
    path("mine/", views.mine, name="mine"),
    path("download/<str:serial>.pdf", views.download_pdf, name="pdf"),
    path("download/<str:serial>.jwt", views.download_badge, name="badge"),
    path("course/", views.course_certificates, name="course"),
    path("course/settings/", views.settings_page, name="settings"),
    path("course/preview/", views.preview, name="preview"),
]
