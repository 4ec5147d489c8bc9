"""The institution admin console, mounted at /console/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from completion.console import views

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("sync/", views.sync_now, name="sync"),
    path("credentials/", views.issue_credential, name="issue_credential"),
    path(
        "credentials/<int:credential_id>/revoke/",
        views.revoke_credential,
        name="revoke_credential",
    ),
    path("retention/", views.set_retention, name="retention"),
]
