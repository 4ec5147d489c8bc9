"""When a certificate expires, when it needs renewal, its status on a day, and which reminders
are due. Also whether a credential track is complete and until when.

Pure: plain values in and out, `now` always passed in. Issuing, storing and sending live in
`services`.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

VALID = "valid"
RENEWAL_REQUIRED = "renewal_required"
EXPIRED = "expired"
REVOKED = "revoked"
PENDING = "pending"  # recorded, PDF not rendered and signed yet

STATUS_WORDS: Mapping[str, str] = {
    VALID: "Valid",
    RENEWAL_REQUIRED: "Renewal required",
    EXPIRED: "Expired",
    REVOKED: "Revoked",
    PENDING: "Being issued",
}
DEFAULT_REMINDER_DAYS: tuple[int, ...] = (30, 14, 3)


@dataclass(frozen=True)
class Dates:
    issued_at: datetime
    expires_at: datetime | None
    renewal_from: datetime | None


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later (the month's last day when it is shorter)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def dates_for(
    issued_at: datetime, *, validity_months: int | None, renewal_window_days: int
) -> Dates:
    if not validity_months:
        return Dates(issued_at, None, None)
    expires_at = add_months(issued_at, validity_months)
    renewal_from = max(expires_at - timedelta(days=renewal_window_days), issued_at)
    return Dates(issued_at, expires_at, renewal_from)


def status_of(
    *,
    expires_at: datetime | None,
    renewal_from: datetime | None,
    revoked: bool,
    signed: bool,
    now: datetime,
) -> str:
    if revoked:
        return REVOKED
    if not signed:
        return PENDING
    if expires_at is not None and now >= expires_at:
        return EXPIRED
    if renewal_from is not None and now >= renewal_from:
        return RENEWAL_REQUIRED
    return VALID


def is_current(status: str) -> bool:
    """Whether a certificate with this status still counts (for tracks and renewals)."""
    return status in (VALID, RENEWAL_REQUIRED)


def reminder_due(
    *,
    expires_at: datetime | None,
    sent: Iterable[int],
    days: Sequence[int],
    now: datetime,
) -> int | None:
    """The reminder (days before expiry) to send now, if any: the nearest one not yet sent.

    Reminders whose moment has passed are not sent late in a pile: only the closest one is.
    """
    if expires_at is None or now >= expires_at:
        return None
    left = expires_at - now
    already = set(sent)
    passed = [d for d in sorted(days or DEFAULT_REMINDER_DAYS) if left <= timedelta(days=d)]
    if not passed or passed[0] in already:
        return None
    return passed[0]


@dataclass(frozen=True)
class TrackPart:
    course_id: int
    status: str | None  # the best status among the learner's certificates of that course
    expires_at: datetime | None


@dataclass(frozen=True)
class TrackState:
    done: tuple[int, ...]
    remaining: tuple[int, ...]
    complete: bool
    expires_at: datetime | None  # the earliest expiry of its parts


def track_state(parts: Sequence[TrackPart]) -> TrackState:
    done = tuple(p.course_id for p in parts if p.status is not None and is_current(p.status))
    remaining = tuple(p.course_id for p in parts if p.course_id not in done)
    expiries = [p.expires_at for p in parts if p.course_id in done and p.expires_at is not None]
    return TrackState(
        done=done,
        remaining=remaining,
        complete=bool(parts) and not remaining,
        expires_at=min(expiries) if expiries else None,
    )
