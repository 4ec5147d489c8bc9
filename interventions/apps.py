from __future__ import annotations

from django.apps import AppConfig


class InterventionsConfig(AppConfig):
    name = "interventions"

    def ready(self) -> None:
        from interventions import handlers  # noqa: F401  (connects the receivers)
