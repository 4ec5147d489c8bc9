from __future__ import annotations

from django.apps import AppConfig


class LtiToolConfig(AppConfig):
    name = "lti_tool"
