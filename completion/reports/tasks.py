"""django-q2 entry point of the scheduled compliance reports."""

from __future__ import annotations

from completion.reports.delivery import send_due_reports


def send_scheduled_reports() -> int:
    return send_due_reports()
