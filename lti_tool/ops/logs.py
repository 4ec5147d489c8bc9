"""JSON log lines carrying a request id that follows a request into the tasks it queues.

The id comes from the proxy (`X-Request-ID`, which the shipped nginx configuration sets from
its own `$request_id`) or is made here; `ops.middleware` binds it for the request, the
django-q2 `pre_enqueue` signal copies it into every task queued meanwhile, and `pre_execute`
binds it again in the worker, so one launch's lines and its re-scoring share one id.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: ContextVar[str] = ContextVar("finishline_request_id", default="")
# What a request id may look like when it comes from outside (the proxy's, or a caller's).
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
# The attributes every LogRecord has; anything else was passed in `extra=` and is kept.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


def new_request_id() -> str:
    return secrets.token_hex(16)


def accepted_request_id(value: str | None) -> str:
    """The caller's id when it is a plausible one, else a new one."""
    return value if value and _VALID.match(value) else new_request_id()


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (empty outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or REQUEST_ID.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def tag_task(sender: object = None, task: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """django-q2 `pre_enqueue`: the task carries the request id it was queued under."""
    current = REQUEST_ID.get()
    if task is not None and current:
        task["request_id"] = current


def bind_task(
    sender: object = None, func: object = None, task: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    """django-q2 `pre_execute`: the worker logs under the id the task was queued with (or its
    own task id for scheduled work, so one task's lines still belong together)."""
    task = task or {}
    REQUEST_ID.set(str(task.get("request_id") or task.get("id") or ""))
