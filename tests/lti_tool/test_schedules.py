from __future__ import annotations

from django.core.management import call_command
from django.utils.module_loading import import_string
from django_q.models import Schedule

from config.schedules import SCHEDULES


def test_every_scheduled_task_exists():
    for entry in SCHEDULES:
        assert callable(import_string(entry["func"]))


def test_sync_schedules_is_idempotent(db):
    call_command("sync_schedules")
    call_command("sync_schedules")
    assert Schedule.objects.count() == len(SCHEDULES)
    nightly = Schedule.objects.get(name="risk: nightly full pass")
    assert (nightly.schedule_type, nightly.cron) == ("C", "15 0 * * *")
