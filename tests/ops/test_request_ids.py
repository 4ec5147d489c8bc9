"""A request id from the proxy (or made here) is on the response, the log lines and the tasks
the request queues, and the worker logs under it."""

from __future__ import annotations

import contextvars
import json
import logging

import pytest
from django.test import Client
from django.urls import reverse
from django_q.signals import pre_enqueue

from completion.ingest.lms import tasks as lms_tasks
from lti_tool.ops.logs import REQUEST_ID, JsonFormatter, RequestIdFilter, bind_task
from tests.completion.riskdata import enrol, make_course
from tests.helpers import token_for


@pytest.mark.django_db
def test_the_proxys_request_id_is_kept_and_a_bad_one_replaced():
    kept = Client().get("/healthz/", HTTP_X_REQUEST_ID="0f3a9c-proxy-id")
    assert kept["X-Request-ID"] == "0f3a9c-proxy-id"
    replaced = Client().get("/healthz/", HTTP_X_REQUEST_ID="no spaces; or <html>")
    assert replaced["X-Request-ID"] != "no spaces; or <html>"
    assert len(replaced["X-Request-ID"]) == 32
    made = Client().get("/healthz/")
    assert len(made["X-Request-ID"]) == 32


def test_a_json_log_line_carries_the_request_id_and_the_extras():
    record = logging.makeLogRecord(
        {"name": "finishline.launch", "levelname": "INFO", "msg": "lti_launch %s", "args": ("x",)}
    )
    record.course = 7
    token = REQUEST_ID.set("req-123")
    try:
        RequestIdFilter().filter(record)
        line = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["request_id"] == "req-123"
    assert line["message"] == "lti_launch x"
    assert line["logger"] == "finishline.launch"
    assert line["course"] == 7


@pytest.mark.django_db(transaction=True)  # on_commit runs inside the request, as in production
def test_a_task_queued_by_a_request_carries_its_id_and_the_worker_binds_it(monkeypatch):
    course, _ = make_course(items=())
    course.nrps_url = "https://lms.test/nrps"
    course.save()
    admin = enrol(course, "admin", role="admin")
    queued = []

    def keep(sender, task, **kwargs):
        queued.append(dict(task))

    pre_enqueue.connect(keep)
    monkeypatch.setattr(lms_tasks, "sync_course_roster", lambda course_id: {})
    try:
        response = Client().post(
            reverse("console:sync"),
            {"course": course.pk, "kind": "roster"},
            HTTP_X_FINISHLINE_LAUNCH=token_for(admin, "admin"),
            HTTP_X_REQUEST_ID="launch-req-42",
        )
    finally:
        pre_enqueue.disconnect(keep)
    assert response.status_code == 302
    assert [t["request_id"] for t in queued] == ["launch-req-42"]

    # In the worker (a fresh context), the task's id becomes the log lines' id.
    def in_worker():
        bind_task(task=queued[0])
        return REQUEST_ID.get()

    assert contextvars.Context().run(in_worker) == "launch-req-42"
    # Scheduled work queued outside any request logs under its own task id.
    assert (
        contextvars.Context().run(lambda: bind_task(task={"id": "t-1"}) or REQUEST_ID.get())
        == "t-1"
    )
