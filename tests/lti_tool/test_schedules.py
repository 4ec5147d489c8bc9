from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from config.schedules import SCHEDULES
from lti_tool.models import UsedNonce
from lti_tool.tasks import purge_used_nonces


def test_every_scheduled_task_exists():
    for entry in SCHEDULES:
        assert callable(import_string(entry["func"]))


def test_sync_schedules_is_idempotent(db):
    call_command("sync_schedules")
    call_command("sync_schedules")
    assert Schedule.objects.count() == len(SCHEDULES)
    nightly = Schedule.objects.get(name="risk: nightly full pass")
    assert (nightly.schedule_type, nightly.cron) == ("C", "15 0 * * *")


OLD_FUNC = "lti_tool.tasks.purge_login_data"  # an earlier path of the nonce purge
NEW_FUNC = "lti_tool.tasks.purge_used_nonces"


def test_a_renamed_schedule_replaces_its_old_row_rather_than_running_twice(db):
    call_command("sync_schedules")
    # A row left by an earlier name of the nonce purge, as an upgraded install has it.
    Schedule.objects.create(
        name="lti: purge expired login states and nonces", func=OLD_FUNC,
        schedule_type="C", cron="45 * * * *", repeats=-1,
    )  # fmt: skip
    call_command("sync_schedules")
    assert not Schedule.objects.filter(func=OLD_FUNC).exists()
    assert Schedule.objects.get(func=NEW_FUNC).name == "lti: purge expired nonces"
    assert Schedule.objects.count() == len(SCHEDULES)


def test_a_listed_schedule_whose_task_moved_runs_the_new_path(db):
    call_command("sync_schedules")
    Schedule.objects.filter(name="lti: purge expired nonces").update(func=OLD_FUNC)
    call_command("sync_schedules")
    assert not Schedule.objects.filter(func=OLD_FUNC).exists()
    assert Schedule.objects.get(name="lti: purge expired nonces").func == NEW_FUNC


def test_the_nonce_purge_deletes_only_expired_nonces(platform):
    now = timezone.now()
    for nonce, expires_at in (
        ("old", now - timedelta(minutes=1)),
        ("live", now + timedelta(hours=1)),
    ):
        UsedNonce.objects.create(platform=platform.record, nonce=nonce, expires_at=expires_at)
    assert purge_used_nonces() == {"nonces": 1}
    assert list(UsedNonce.objects.values_list("nonce", flat=True)) == ["live"]
