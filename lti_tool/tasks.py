"""django-q2 entry points of the foundation."""

from __future__ import annotations

import socket

from django.conf import settings
from django.utils import timezone

from lti_tool.audit.retention import purge_all
from lti_tool.launch.flow import purge_expired_nonces
from lti_tool.launch.sessions import purge_ended_sessions
from lti_tool.models import WorkerHeartbeat
from lti_tool.webhooks import deliver_due


def purge_used_nonces() -> dict[str, int]:
    """Delete used nonces past their expiry; the count under "nonces"."""
    return {"nonces": purge_expired_nonces()}


def purge_launch_sessions() -> int:
    """Delete launch sessions ended more than a day ago."""
    return purge_ended_sessions()


def deliver_webhooks() -> int:
    """Send the webhook deliveries now due; returns how many were delivered."""
    return deliver_due().delivered


def purge_expired_records() -> dict[str, int]:
    """Purge learning records past each deployment's retention period; totals per kind."""
    totals: dict[str, int] = {}
    for result in purge_all(now=timezone.now(), dry_run=False, actor="task:purge_expired_records"):
        for name, count in result.counts:
            totals[name] = totals.get(name, 0) + count
    return totals


def heartbeat() -> str:
    """Stamp this worker cluster's row (every minute, `config/schedules.py`); `/readyz/` is
    green while the newest stamp is fresh."""
    name = f"{settings.Q_CLUSTER.get('name', 'finishline')}@{socket.gethostname()}"
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})
    return name
