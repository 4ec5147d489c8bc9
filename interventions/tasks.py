"""django-q2 entry points of the interventions app."""

from __future__ import annotations

from interventions.outbox import dispatch_due


def dispatch_outbox(limit: int = 200) -> dict[str, int]:
    result = dispatch_due(limit=limit)
    return {"sent": result.sent, "retried": result.retried, "failed": result.failed}
