from __future__ import annotations

from django.apps import AppConfig


class InterventionsConfig(AppConfig):
    name = "interventions"
