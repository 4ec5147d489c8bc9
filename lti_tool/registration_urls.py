"""URLs of LTI Dynamic Registration (see registration.py)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
