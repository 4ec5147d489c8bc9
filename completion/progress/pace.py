"""Expected progress on a day: the course timeline as it applies to one learner. Pure.

Owns working-day arithmetic (weekends and blackout dates skipped), fixed anchors (a live
workshop by which a share must be done), rolling enrolment, learner pauses and accommodation
multipliers, and due dates. It does not know what "done" means (see `criteria`) nor how far
behind is worrying (see `signals`). Days are whole UTC dates; a day counts once it has begun.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

ABSOLUTE = "absolute"
RELATIVE = "relative"
SELF_PACED = "self_paced"
MODES = (ABSOLUTE, RELATIVE, SELF_PACED)


@dataclass(frozen=True)
class Anchor:
    """A fixed date (a live workshop, an exam) by which `share` of the course must be done."""

    on: date
    share: float
    label: str = ""


@dataclass(frozen=True)
class Timeline:
    """A course's schedule. `duration_days` counts working days from each learner's enrolment
    (relative mode, and self-paced mode when no earlier completers exist)."""

    mode: str = RELATIVE
    starts_on: date | None = None
    ends_on: date | None = None
    duration_days: int = 20
    skip_weekends: bool = True
    blackout: frozenset[date] = field(default_factory=frozenset)
    anchors: tuple[Anchor, ...] = ()


@dataclass(frozen=True)
class Pause:
    starts_on: date
    until: date  # inclusive

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.until


def is_working_day(day: date, *, skip_weekends: bool, blackout: frozenset[date]) -> bool:
    return not (skip_weekends and day.weekday() >= 5) and day not in blackout


@lru_cache(maxsize=65536)
def working_days(
    first: date, last: date, skip_weekends: bool = True, blackout: frozenset[date] = frozenset()
) -> int:
    """Working days in the closed range [first, last]; 0 when last < first."""
    if last < first:
        return 0
    total = (last - first).days + 1
    if skip_weekends:
        full_weeks, rest = divmod(total, 7)
        weekend = full_weeks * 2
        start = first.weekday()
        weekend += sum(1 for k in range(rest) if (start + k) % 7 >= 5)
        total -= weekend
    total -= sum(
        1 for d in blackout if first <= d <= last and not (skip_weekends and d.weekday() >= 5)
    )
    return total


def add_working_days(start: date, count: int, timeline: Timeline) -> date:
    """The date on which the `count`-th working day from `start` (inclusive) falls."""
    day = start - timedelta(days=1)
    left = max(count, 0)
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, skip_weekends=timeline.skip_weekends, blackout=timeline.blackout):
            left -= 1
    return max(day, start)


def paused_working_days(
    pauses: Iterable[Pause], first: date, last: date, timeline: Timeline
) -> int:
    """Working days in [first, last] covered by at least one pause (overlaps counted once)."""
    days: set[date] = set()
    for pause in pauses:
        day = max(pause.starts_on, first)
        end = min(pause.until, last)
        while day <= end:
            if is_working_day(
                day, skip_weekends=timeline.skip_weekends, blackout=timeline.blackout
            ):
                days.add(day)
            day += timedelta(days=1)
    return len(days)


def start_of(timeline: Timeline, enrolled_on: date) -> date:
    if timeline.mode == ABSOLUTE and timeline.starts_on is not None:
        return timeline.starts_on
    return enrolled_on


def length_of(timeline: Timeline, enrolled_on: date, reference_days: float | None) -> float:
    """The schedule's length in working days, before any accommodation."""
    if timeline.mode == ABSOLUTE and timeline.starts_on and timeline.ends_on:
        return float(
            max(
                working_days(
                    timeline.starts_on, timeline.ends_on, timeline.skip_weekends, timeline.blackout
                ),
                1,
            )
        )
    if timeline.mode == SELF_PACED and reference_days is not None and reference_days > 0:
        return float(reference_days)
    return float(max(timeline.duration_days, 1))


def expected_share(
    timeline: Timeline,
    *,
    enrolled_on: date,
    as_of: date,
    pauses: tuple[Pause, ...] = (),
    multiplier: float = 1.0,
    reference_days: float | None = None,
) -> float:
    """The share (0..1) of the course a learner is expected to have done by the end of `as_of`.

    Linear in working days between knots: (start, 0), each anchor on or after the start,
    (end, 1). Paused working days do not count as elapsed; an accommodation multiplier
    stretches every knot, so 1.5 expects two thirds of the progress on a given day.
    """
    start = start_of(timeline, enrolled_on)
    if as_of < start:
        return 0.0
    elapsed = working_days(start, as_of, timeline.skip_weekends, timeline.blackout)
    if pauses:
        elapsed -= paused_working_days(pauses, start, as_of, timeline)
    scale = max(multiplier, 0.1)
    knots = _knots(timeline, start, length_of(timeline, enrolled_on, reference_days))
    return _interpolate(knots, elapsed / scale)


def _knots(timeline: Timeline, start: date, length: float) -> tuple[tuple[float, float], ...]:
    points = [(0.0, 0.0)]
    for anchor in sorted(timeline.anchors, key=lambda a: a.on):
        if anchor.on < start:
            continue  # a workshop before this learner enrolled sets no expectation for them
        offset = float(working_days(start, anchor.on, timeline.skip_weekends, timeline.blackout))
        if 0 < offset < length:
            points.append((offset, min(max(anchor.share, points[-1][1]), 1.0)))
    points.append((length, 1.0))
    return tuple(points)


def _interpolate(knots: tuple[tuple[float, float], ...], x: float) -> float:
    if x <= 0:
        return 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(knots):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0) if x1 > x0 else y1
    return 1.0


def due_date(
    *,
    due_on: date | None,
    due_days_after_enrolment: int | None,
    enrolled_on: date,
    pauses: tuple[Pause, ...] = (),
    multiplier: float = 1.0,
    extension_days: int = 0,
) -> date | None:
    """The learner's deadline. Relative deadlines (calendar days) are stretched by the
    accommodation and pushed back by paused days; a fixed date stays fixed. The earlier wins,
    then an accommodation's deadline extension moves it by `extension_days`."""
    found: list[date] = []
    if due_on is not None:
        found.append(due_on)
    if due_days_after_enrolment is not None:
        days = math.ceil(due_days_after_enrolment * max(multiplier, 1.0))
        due = enrolled_on + timedelta(days=days)
        for pause in sorted(pauses, key=lambda p: p.starts_on):
            if pause.starts_on <= due:
                due += timedelta(days=(pause.until - pause.starts_on).days + 1)
        found.append(due)
    return min(found) + timedelta(days=extension_days) if found else None


def is_paused(pauses: tuple[Pause, ...], day: date) -> bool:
    return any(p.covers(day) for p in pauses)


def paused_calendar_days(pauses: tuple[Pause, ...], first: date, last: date) -> frozenset[date]:
    """Calendar days in [first, last] covered by a pause."""
    days: set[date] = set()
    for pause in pauses:
        day = max(pause.starts_on, first)
        while day <= min(pause.until, last):
            days.add(day)
            day += timedelta(days=1)
    return frozenset(days)
