"""The prerequisite path as SVG geometry: one row of boxes per step, arrows from what is
required to what requires it. Pure: takes the steps of `progress.criteria_check.path_of` and
titles, returns coordinates in a viewBox; the template draws them and lists the same steps as
text, which is what screen readers and narrow screens read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from completion.progress.criteria_check import Step

WIDTH = 440
LEFT = 64  # the "Step n" labels
BOX_H = 40
ROW_H = 76  # a row of boxes and the gap for arrows below it
GAP = 10
CHAR_W = 7.2  # average width of a character at the drawing's font size


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    text: str  # shortened to fit
    title: str  # in full, as the box's tooltip
    course: bool = False


@dataclass(frozen=True)
class Arrow:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Drawing:
    width: int
    height: int
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    rows: tuple[tuple[float, str], ...]  # (y, "Step n") beside each row
    box_height: int = BOX_H


def _fit(text: str, width: float) -> str:
    room = max(3, int((width - 12) / CHAR_W))
    return text if len(text) <= room else text[: room - 1].rstrip() + "…"


def _row(labels: Sequence[tuple[int, str]], y: float, course: bool) -> dict[int, Box]:
    n = len(labels)
    width = min(200.0, (WIDTH - LEFT - GAP * (n - 1)) / n)
    start = LEFT + (WIDTH - LEFT - (n * width + (n - 1) * GAP)) / 2
    return {
        key: Box(start + k * (width + GAP), y, width, _fit(text, width), text, course)
        for k, (key, text) in enumerate(labels)
    }


def draw(
    steps: Sequence[Step], titles: Mapping[int, str], courses: Sequence[str] = ()
) -> Drawing | None:
    """The path drawn, courses to finish first on top; None when there is nothing to draw."""
    if not steps and not courses:
        return None
    boxes: dict[int, Box] = {}
    rows: list[tuple[float, str]] = []
    arrows: list[Arrow] = []
    y = 8.0
    if courses:
        top = _row([(-1 - k, f"Course: {c}") for k, c in enumerate(courses)], y, True)
        rows.append((y, "First"))
        first = steps[0].items if steps else ()
        boxes.update(top)
        y += ROW_H
    for step in steps:
        boxes.update(_row([(i, titles.get(i, f"Item {i}")) for i in step.items], y, False))
        rows.append((y, f"Step {step.number}"))
        y += ROW_H
    for step in steps:
        for item, needs in step.needs.items():
            arrows += [_arrow(boxes[n], boxes[item]) for n in needs]
    if courses:
        arrows += [_arrow(boxes[c], boxes[i]) for c in top for i in first]
    return Drawing(
        width=WIDTH,
        height=int(y - ROW_H + BOX_H + 16),
        boxes=tuple(boxes.values()),
        arrows=tuple(arrows),
        rows=tuple(rows),
    )


def _arrow(a: Box, b: Box) -> Arrow:
    return Arrow(a.x + a.width / 2, a.y + BOX_H, b.x + b.width / 2, b.y - 4)
