from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from interventions.planning.throttle import (
    Recipient,
    after_quiet_hours,
    decide,
    deciding_preference,
)

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_first_nudge_goes_now():
    d = decide(now=NOON, channel="email", recipient=Recipient(), recent_nudges=[])
    assert (d.allowed, d.send_at, d.reason) == (True, NOON, "now")


def test_second_nudge_waits_until_48_hours_after_the_first():
    last = NOON - timedelta(hours=47)
    d = decide(now=NOON, channel="email", recipient=Recipient(), recent_nudges=[last])
    assert d.send_at == last + timedelta(hours=48)
    assert d.reason == "throttled"


def test_nudge_exactly_48_hours_later_is_allowed_now():
    d = decide(
        now=NOON, channel="email", recipient=Recipient(), recent_nudges=[NOON - timedelta(hours=48)]
    )
    assert d.send_at == NOON


def test_quiet_hours_are_in_the_learners_time_zone():
    # 12:00 UTC is 21:00 in Tokyo: inside quiet hours, so wait for 08:00 Tokyo (23:00 UTC).
    d = decide(
        now=NOON, channel="email", recipient=Recipient(timezone="Asia/Tokyo"), recent_nudges=[]
    )
    assert d.send_at == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    assert d.reason == "quiet hours"


def test_early_morning_waits_until_the_end_of_quiet_hours_same_day():
    early = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)
    assert after_quiet_hours(early, Recipient()) == datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def test_custom_daytime_quiet_window():
    r = Recipient(quiet_start=time(9, 0), quiet_end=time(17, 0))
    assert after_quiet_hours(NOON, r) == datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
    assert after_quiet_hours(NOON.replace(hour=18), r) == NOON.replace(hour=18)


def test_paused_learner_gets_nothing_until_after_the_return_date():
    r = Recipient(paused_until=date(2026, 3, 12))
    assert not decide(now=NOON, channel="email", recipient=r, recent_nudges=[]).allowed
    later = NOON.replace(day=13)
    assert decide(now=later, channel="email", recipient=r, recent_nudges=[]).allowed


def test_sms_needs_opt_in_and_a_phone_and_opt_out_wins():
    assert not decide(
        now=NOON, channel="sms", recipient=Recipient(has_phone=True), recent_nudges=[]
    ).allowed
    unverified = Recipient(sms_opt_in=True, has_phone=True)
    refused = decide(now=NOON, channel="sms", recipient=unverified, recent_nudges=[])
    assert refused.reason == "has not verified the phone number"
    ok = Recipient(sms_opt_in=True, has_phone=True, phone_verified=True)
    assert decide(now=NOON, channel="sms", recipient=ok, recent_nudges=[]).allowed
    opted_out = Recipient(sms_opt_in=True, has_phone=True, sms_opt_out=True)
    assert not decide(now=NOON, channel="sms", recipient=opted_out, recent_nudges=[]).allowed


def test_email_opt_out_blocks_email_only():
    r = Recipient(email_opt_out=True)
    assert (
        decide(now=NOON, channel="email", recipient=r, recent_nudges=[]).reason
        == "opted out of email"
    )


def test_staff_messages_ignore_the_learner_throttle():
    d = decide(
        now=NOON, channel="chat", recipient=Recipient(), recent_nudges=[NOON], learner_facing=False
    )
    assert d.send_at == NOON


def test_a_digest_learner_gets_messages_at_one_time_a_day_and_the_reason_names_it():
    r = Recipient(timezone="Europe/Paris", daily_digest=True, quiet_end=time(7, 30))
    decision = decide(now=NOON, channel="email", recipient=r, recent_nudges=[])
    assert decision.send_at is not None
    local = decision.send_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (7, 30)
    assert local.date() > NOON.date()
    assert "daily digest at 07:30 Europe/Paris" in deciding_preference(r, "email", decision)
