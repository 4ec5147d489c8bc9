from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    label = "ops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_q.signals import pre_enqueue, pre_execute

        from ops.logs import bind_task, tag_task

        pre_enqueue.connect(tag_task, dispatch_uid="finishline-request-id-enqueue")
        pre_execute.connect(bind_task, dispatch_uid="finishline-request-id-execute")
