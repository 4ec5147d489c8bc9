"""URLs of the engagement-data endpoints (xAPI, Caliper, imports)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
