"""Guardrails on learner-facing messages. Pure.

Given what a learner was sent recently and their situation, decide whether a message may go
now, later (the earliest allowed time), or not at all. Owns: the per-learner throttle
(one nudge per 48 h by default), quiet hours in the learner's own time zone, pauses and
opt-outs. It does not choose *which* message: that is the planner's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_MIN_GAP = timedelta(hours=48)
DEFAULT_QUIET = (time(21, 0), time(8, 0))


@dataclass(frozen=True)
class Recipient:
    timezone: str = "UTC"
    email_opt_out: bool = False
    sms_opt_in: bool = False
    sms_opt_out: bool = False
    has_phone: bool = False
    paused_until: date | None = None  # paused through this day (inclusive)
    quiet_start: time | None = None
    quiet_end: time | None = None
    phone_verified: bool = False
    daily_digest: bool = False  # learner messages wait for one delivery time a day
    has_chat: bool = False  # a chat webhook of their own
    prefers_chat: bool = False  # email steps go to their chat webhook instead


def preferred_channels(channels: tuple[str, ...], recipient: Recipient) -> tuple[str, ...]:
    """A step's channels for this recipient: email becomes chat for one who prefers chat and
    has a webhook."""
    if not (recipient.prefers_chat and recipient.has_chat):
        return channels
    swapped = ("chat" if c == "email" else c for c in channels)
    return tuple(dict.fromkeys(swapped))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    send_at: datetime | None
    reason: str


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def channel_open(recipient: Recipient, channel: str, *, learner_facing: bool = True) -> str:
    """Empty when the channel may be used, else why not (staff chat goes to the staff's own
    webhooks, chosen by the planner)."""
    if channel == "email" and recipient.email_opt_out:
        return "opted out of email"
    if channel == "sms":
        if recipient.sms_opt_out or not recipient.sms_opt_in:
            return "has not opted in to SMS"
        if not recipient.has_phone:
            return "has no phone number"
        if not recipient.phone_verified:
            return "has not verified the phone number"
    if channel == "chat" and learner_facing and not recipient.has_chat:
        return "has no chat webhook"
    return ""


def after_quiet_hours(moment: datetime, recipient: Recipient) -> datetime:
    """The same moment, or the end of the learner's quiet hours if it falls inside them."""
    start, end = (
        recipient.quiet_start or DEFAULT_QUIET[0],
        recipient.quiet_end or DEFAULT_QUIET[1],
    )
    local = moment.astimezone(zone(recipient.timezone))
    clock = local.time()
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return moment
    wake_day = local.date() if clock < end else local.date() + timedelta(days=1)
    wake = datetime.combine(wake_day, end, tzinfo=local.tzinfo)
    return wake.astimezone(moment.tzinfo)


def decide(
    *,
    now: datetime,
    channel: str,
    recipient: Recipient,
    recent_nudges: Sequence[datetime],
    min_gap: timedelta = DEFAULT_MIN_GAP,
    learner_facing: bool = True,
) -> Decision:
    """May this message be sent, and when? `recent_nudges` are learner-facing send times."""
    closed = channel_open(recipient, channel, learner_facing=learner_facing)
    if closed:
        return Decision(False, None, closed)
    if recipient.paused_until is not None and now.date() <= recipient.paused_until:
        return Decision(False, None, f"paused until {recipient.paused_until.isoformat()}")
    if not learner_facing:
        return Decision(True, now, "staff message")
    last = max(recent_nudges, default=None)
    earliest = now if last is None else max(now, last + min_gap)
    if recipient.daily_digest:
        return Decision(True, next_digest_time(earliest, recipient), "daily digest")
    send_at = after_quiet_hours(earliest, recipient)
    reason = (
        "now"
        if send_at == now
        else ("throttled" if last is not None and last + min_gap > now else "quiet hours")
    )
    return Decision(True, send_at, reason)


def next_digest_time(moment: datetime, recipient: Recipient) -> datetime:
    """The next daily delivery time (the end of quiet hours, local) at or after `moment`."""
    wake = recipient.quiet_end or DEFAULT_QUIET[1]
    local = moment.astimezone(zone(recipient.timezone))
    day = local.date() if local.time() <= wake else local.date() + timedelta(days=1)
    return datetime.combine(day, wake, tzinfo=local.tzinfo).astimezone(moment.tzinfo)


def deciding_preference(recipient: Recipient, channel: str, decision: Decision) -> str:
    """In words, which of the recipient's preferences decided this channel's fate and time."""
    if not decision.allowed:
        return f"{channel}: {decision.reason}"
    start = recipient.quiet_start or DEFAULT_QUIET[0]
    end = recipient.quiet_end or DEFAULT_QUIET[1]
    own = "own" if recipient.quiet_start else "default"
    where = f"{recipient.timezone or 'UTC'}"
    base = {
        "email": "email allowed (not opted out)",
        "sms": "SMS opt-in with a verified number",
        "chat": (
            "chat preferred, own webhook" if recipient.prefers_chat else "chat to own webhook"
        ),
    }.get(channel, f"{channel} allowed")
    if decision.reason == "daily digest":
        return f"{base}; daily digest at {end:%H:%M} {where}"
    if decision.reason == "quiet hours":
        return f"{base}; {own} quiet hours {start:%H:%M}-{end:%H:%M} {where}"
    if decision.reason == "throttled":
        return f"{base}; at most one nudge per 48 hours"
    return f"{base}; immediate delivery"
