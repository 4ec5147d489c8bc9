from __future__ import annotations

from django.apps import AppConfig


class InterventionsConfig(AppConfig):
    name = "interventions"

    def ready(self) -> None:
        from interventions import handlers  # noqa: F401  (connects the receivers)

        register_purgers()


def register_purgers() -> None:
    """Messages and intervention steps age out under the deployment's retention policy."""
    from interventions.models import Intervention, OutboundMessage
    from lti_tool.audit.retention import age_purger, register_purger

    register_purger(
        OutboundMessage._meta.label,
        age_purger(OutboundMessage, deployment_field="deployment", age_field="created_at"),
    )
    register_purger(
        Intervention._meta.label,
        age_purger(Intervention, deployment_field="course__deployment", age_field="planned_at"),
    )
