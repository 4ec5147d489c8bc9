"""django-q2 entry point of the weekly cohort risk report (scheduled Monday 06:00 UTC)."""

from __future__ import annotations

from django.utils import timezone

from interventions.reports.weekly import send_weekly_reports


def weekly_reports() -> int:
    """Queue this week's reports; safe to run again (one email per person, course and week)."""
    return send_weekly_reports(now=timezone.now())
