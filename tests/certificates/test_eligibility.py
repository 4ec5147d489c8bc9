from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from certificates import eligibility as e

T0 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def test_months_are_calendar_months_and_clip_to_the_month_end():
    assert e.add_months(T0, 1) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert e.add_months(T0, 12) == datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    assert e.add_months(datetime(2027, 11, 30, tzinfo=UTC), 3) == datetime(2028, 2, 29, tzinfo=UTC)


def test_a_certificate_without_validity_never_expires():
    dates = e.dates_for(T0, validity_months=None, renewal_window_days=60)
    assert (dates.expires_at, dates.renewal_from) == (None, None)
    status = e.status_of(expires_at=None, renewal_from=None, revoked=False, signed=True,
                         now=T0 + timedelta(days=3650))  # fmt: skip
    assert status == e.VALID


def test_status_moves_valid_then_renewal_required_then_expired():
    dates = e.dates_for(T0, validity_months=12, renewal_window_days=60)
    assert dates.expires_at == datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    assert dates.renewal_from == dates.expires_at - timedelta(days=60)

    def at(moment):
        return e.status_of(expires_at=dates.expires_at, renewal_from=dates.renewal_from,
                           revoked=False, signed=True, now=moment)  # fmt: skip

    assert at(T0) == e.VALID
    assert at(dates.renewal_from - timedelta(seconds=1)) == e.VALID
    assert at(dates.renewal_from) == e.RENEWAL_REQUIRED
    assert at(dates.expires_at) == e.EXPIRED


def test_revoked_wins_and_unsigned_is_pending():
    kw = {"expires_at": None, "renewal_from": None, "now": T0}
    assert e.status_of(revoked=True, signed=True, **kw) == e.REVOKED
    assert e.status_of(revoked=True, signed=False, **kw) == e.REVOKED
    assert e.status_of(revoked=False, signed=False, **kw) == e.PENDING


def test_a_window_longer_than_the_validity_starts_at_issue():
    dates = e.dates_for(T0, validity_months=1, renewal_window_days=90)
    assert dates.renewal_from == T0


@pytest.mark.parametrize(
    ("days_left", "sent", "expected"),
    [
        (90, [], None),
        (60, [], 60),
        (45, [], 60),
        (45, [60], None),
        (30, [60], 30),
        (20, [], 30),  # missed the 60-day moment: only the nearest is sent, not a pile
        (7, [60, 30], 7),
        (3, [60, 30, 7], None),
        (0, [], None),  # expired: no reminder
    ],
)
def test_reminders_go_once_each_at_60_30_and_7_days(days_left, sent, expected):
    expires = T0 + timedelta(days=days_left)
    assert e.reminder_due(expires_at=expires, sent=sent, days=[60, 30, 7], now=T0) == expected


def test_no_expiry_means_no_reminder():
    assert e.reminder_due(expires_at=None, sent=[], days=[60], now=T0) is None


def test_a_track_is_complete_when_every_part_is_current_and_expires_with_its_first_part():
    soon, later = T0 + timedelta(days=30), T0 + timedelta(days=300)
    state = e.track_state([
        e.TrackPart(1, e.VALID, later),
        e.TrackPart(2, e.RENEWAL_REQUIRED, soon),
        e.TrackPart(3, e.VALID, None),
    ])  # fmt: skip
    assert state.complete
    assert state.expires_at == soon
    assert state.remaining == ()
    state = e.track_state([e.TrackPart(1, e.VALID, later), e.TrackPart(2, e.EXPIRED, soon)])
    assert not state.complete
    assert state.done == (1,)
    assert state.remaining == (2,)
    state = e.track_state([e.TrackPart(1, None, None), e.TrackPart(2, e.REVOKED, None)])
    assert state.remaining == (1, 2)
    assert not e.track_state([]).complete
