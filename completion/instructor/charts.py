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
    max_value: int  # the top of the scale (100 %)
    days: int


@dataclass(frozen=True)
class StackedBar:
    x: float
    width: float
    segments: tuple[tuple[float, float, str, int], ...]  # (y, height, tier, count)
    label: str


MIN_OBSERVED = 5  # fewer learners enrolled that long: the curve stops there


def survival(learners: Mapping[tuple[int, int], int], days: int) -> list[float]:
    """Share of learners still active on each day since enrolment, among those enrolled that long.

    `learners` counts learners per (day of last activity, days enrolled so far); -1 means never
    active. Counting only learners enrolled at least k days keeps recent enrolments from
    looking like drop-outs.
    """
    shares = []
    for day in range(days + 1):
        observed = active = 0
        for (last, age), n in learners.items():
            if age >= day:
                observed += n
                active += n if last >= day else 0
        if observed < MIN_OBSERVED:
            break
        shares.append(active / observed)
    return shares


def inflection_days(shares: Sequence[float], top: int = 3) -> list[int]:
    """The days after which the share active fell most (largest one-day drops), in day order."""
    drops = [(shares[d] - shares[d + 1], d) for d in range(len(shares) - 1)]
    biggest = sorted((drop for drop in drops if drop[0] > 0), reverse=True)[:top]
    return sorted(day for _, day in biggest)


def drop_off_curve(shares: Sequence[float]) -> Curve:
    if not shares:
        return Curve("", (), 0, 0)
    step = WIDTH / max(len(shares) - 1, 1)

    def y(value: float) -> float:
        return round(HEIGHT - value * HEIGHT, 1)

    points = " ".join(f"{d * step:.1f},{y(v)}" for d, v in enumerate(shares))
    marks = tuple(
        (
            round(d * step, 1),
            y(shares[d]),
            f"after day {d}: {100 * (shares[d] - shares[d + 1]):.0f} points fewer active",
        )
        for d in inflection_days(shares)
    )
    return Curve(points, marks, 100, len(shares) - 1)


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
