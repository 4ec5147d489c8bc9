from __future__ import annotations

from django.apps import AppConfig


class InterventionsConfig(AppConfig):
    name = "interventions"

    def ready(self) -> None:
        from interventions import handlers  # noqa: F401  (connects the receivers)

        register_purgers()
        register_outbox_counter()


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


def register_outbox_counter() -> None:
    """The outbox by state, for `/metrics` (`finishline_outbox_messages`) and the Health page."""
    from django.db.models import Count

    from interventions.models import OutboundMessage
    from lti_tool.ops.health import StateCounter, register_state_counter

    def outbox_by_state() -> dict[str, int]:
        rows = OutboundMessage.objects.values_list("status").annotate(n=Count("id")).order_by()
        counts = dict(rows)
        return {state: int(counts.get(state, 0)) for state in OutboundMessage.Status.values}

    register_state_counter(
        StateCounter(
            name="outbox_messages",
            description="Outbound messages by state.",
            label="Outbox messages",
            counts=outbox_by_state,
        )
    )
