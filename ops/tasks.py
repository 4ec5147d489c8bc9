"""The worker's heartbeat task (scheduled every minute in `config/schedules.py`)."""

from __future__ import annotations

import socket

from django.conf import settings
from django.utils import timezone

from ops.models import WorkerHeartbeat


def cluster_name() -> str:
    return f"{settings.Q_CLUSTER.get('name', 'finishline')}@{socket.gethostname()}"


def heartbeat() -> str:
    """Stamp this worker's row; `/readyz` is green while the newest stamp is fresh."""
    name = cluster_name()
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})
    return name
