"""The worker's heartbeat: one row per worker cluster, stamped by a task every minute."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """When a worker last ran the heartbeat task. `/readyz` wants one fresh row."""

    name = models.CharField(max_length=100, unique=True)  # the cluster's name and host
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
