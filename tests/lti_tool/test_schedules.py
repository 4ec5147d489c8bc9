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


def test_a_renamed_schedule_replaces_its_old_row_rather_than_running_twice(db):
    call_command("sync_schedules")
    # A row left by an earlier name of the nonce purge, as an upgraded install has it.
    Schedule.objects.create(
        name="lti: purge expired login states and nonces", func="lti_tool.tasks.purge_login_data",
        schedule_type="C", cron="45 * * * *", repeats=-1,
    )  # fmt: skip
    call_command("sync_schedules")
    assert Schedule.objects.filter(func="lti_tool.tasks.purge_login_data").count() == 1
    assert Schedule.objects.get(func="lti_tool.tasks.purge_login_data").name == (
        "lti: purge expired nonces"
    )
    assert Schedule.objects.count() == len(SCHEDULES)
