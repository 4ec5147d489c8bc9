"""django-q2 entry points of certificates: plain functions of ids, each safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from certificates import services


def certify(course_id: int, membership_ids: list[int], as_of: str | None = None) -> list[int]:
    """Certificates (and gradebook write-back) for learners of a course who completed."""
    return services.handle_completions(course_id, membership_ids, now=timezone.now()).issued


def finish_pending() -> int:
    """Render and sign certificates whose first render failed (older than a minute)."""
    ids = services.pending_certificates(older_than=timezone.now() - timedelta(minutes=1))
    for cert_id in ids:
        services.finish_certificate(cert_id)
    return len(ids)


def post_gradebook() -> tuple[int, int]:
    return services.post_due_write_backs(now=timezone.now())


def expiry_reminders() -> int:
    """Daily: reminders before expiry, and webhook events for certificates that expired."""
    now = timezone.now()
    services.announce_expiries(now=now)
    return services.send_expiry_reminders(now=now)
