from __future__ import annotations

from django.apps import AppConfig


class CompletionConfig(AppConfig):
    name = "completion"
