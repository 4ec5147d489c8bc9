"""URLs of the engagement-data endpoints (xAPI, Caliper, imports)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = []
urlpatterns.append(path("", include("completion.risk_urls")))  # progress, risk
