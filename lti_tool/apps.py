from __future__ import annotations

from django.apps import AppConfig


class LtiToolConfig(AppConfig):
    name = "lti_tool"

    def ready(self) -> None:
        from django_q.signals import pre_enqueue, pre_execute

        from lti_tool.ops.logs import bind_task, tag_task

        # The request id of the request that queued a task follows it into the worker's logs.
        pre_enqueue.connect(tag_task, dispatch_uid="finishline-request-id-enqueue")
        pre_execute.connect(bind_task, dispatch_uid="finishline-request-id-execute")
