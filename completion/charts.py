"""Chart geometry for the instructor's course overview, as plain SVG coordinates.

Pure: takes counts, returns points and bars scaled to a viewBox, so templates draw SVG with no
JavaScript library and no CDN. The drop-off curve marks its inflection points: the days where
the most learners stopped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH = 600
HEIGHT = 200


@dataclass(frozen=True)
class Curve:
    points: str  # "x,y x,y ..." for an SVG polyline
    marks: tuple[tuple[float, float, str], ...]  # (x, y, label) of the inflection points
    max_value: int
    days: int


@dataclass(frozen=True)
class StackedBar:
    x: float
    width: float
    segments: tuple[tuple[float, float, str, int], ...]  # (y, height, tier, count)
    label: str


def survival(last_active_offsets: Sequence[int], days: int) -> list[int]:
    """Learners still active on each day since enrolment (last activity on or after that day)."""
    counts = [0] * (days + 1)
    for offset in last_active_offsets:
        if offset < 0:  # never active: not on the curve at all
            continue
        for day in range(min(offset, days) + 1):
            counts[day] += 1
    return counts


def inflection_days(counts: Sequence[int], top: int = 3) -> list[int]:
    """The days after which the most learners stopped (largest one-day drops), in day order."""
    drops = [(counts[d] - counts[d + 1], d) for d in range(len(counts) - 1)]
    biggest = sorted((drop for drop in drops if drop[0] > 0), reverse=True)[:top]
    return sorted(day for _, day in biggest)


def drop_off_curve(counts: Sequence[int]) -> Curve:
    if not counts:
        return Curve("", (), 0, 0)
    top = max(max(counts), 1)
    step = WIDTH / max(len(counts) - 1, 1)

    def y(value: int) -> float:
        return round(HEIGHT - value / top * HEIGHT, 1)

    points = " ".join(f"{d * step:.1f},{y(v)}" for d, v in enumerate(counts))
    marks = tuple(
        (round(d * step, 1), y(counts[d]), f"day {d}: {counts[d] - counts[d + 1]} stopped")
        for d in inflection_days(counts)
    )
    return Curve(points, marks, top, len(counts) - 1)


def tier_bars(per_day: Sequence[tuple[str, Mapping[str, int]]]) -> list[StackedBar]:
    """Stacked red/yellow/green bars, one per day, scaled to the busiest day."""
    if not per_day:
        return []
    top = max(max(sum(c.values()) for _, c in per_day), 1)
    width = WIDTH / len(per_day)
    bars = []
    for i, (label, counts) in enumerate(per_day):
        y = float(HEIGHT)
        segments = []
        for tier in ("green", "yellow", "red"):
            n = counts.get(tier, 0)
            h = n / top * HEIGHT
            y -= h
            segments.append((round(y, 1), round(h, 1), tier, n))
        bars.append(StackedBar(round(i * width, 1), round(width * 0.8, 1), tuple(segments), label))
    return bars
