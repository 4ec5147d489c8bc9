from __future__ import annotations

from django.apps import AppConfig


class CompletionConfig(AppConfig):
    name = "completion"

    def ready(self) -> None:
        from completion import handlers  # noqa: F401  (connects the receivers)

        register_purgers()


def register_purgers() -> None:
    """Learning records age out under the deployment's retention policy (by age only)."""
    from django.db.models import Model

    from completion import models as m
    from lti_tool.audit.retention import age_purger, register_purger

    ages: list[tuple[type[Model], str, str]] = [
        (m.Activity, "course__deployment", "occurred_at"),
        (m.PendingActivity, "deployment", "occurred_at"),
        (m.XapiStatement, "deployment", "stored_at"),
        # Re-sent attachments refresh stored_at, so one outlives every statement naming it.
        (m.XapiAttachment, "deployment", "stored_at"),
        (m.CaliperEvent, "deployment", "received_at"),
        (m.RiskScore, "course__deployment", "as_of"),
        (m.Progress, "course__deployment", "as_of"),
    ]
    for model, deployment_field, age_field in ages:
        register_purger(
            model._meta.label,
            age_purger(model, deployment_field=deployment_field, age_field=age_field),
        )
    from completion.risk.snapshot import purge_stale

    register_purger(m.FactsSnapshot._meta.label, purge_stale)
