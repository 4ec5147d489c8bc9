from __future__ import annotations

from django.apps import AppConfig


class CompletionConfig(AppConfig):
    name = "completion"

    def ready(self) -> None:
        from completion import handlers  # noqa: F401  (connects the receivers)
