"""django-q2 entry points of the business outcomes (schedule: hourly, see config/schedules.py)."""

from __future__ import annotations

from interventions.business import surveys


def send_due_surveys() -> int:
    """Invite learners who completed or confirmedly did not, once per membership and moment."""
    return surveys.send_due_surveys()
