"""The Today page's charts as SVG drawn on the server by pygal (no JavaScript, no CDN).

Each chart is one `<svg role="img">` with a sentence for screen readers; the page prints the
same numbers in a table beside it. pygal's own script tag (interactive tooltips) is left out:
the pages allow no inline script.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import pygal
from django.core.cache import cache
from django.utils.html import escape
from pygal.style import Style

# pygal adds an import hook for its map plugins that has no `find_spec`, which breaks tools
# that walk `sys.meta_path` (pytest's collection among them). No map is used here: drop it.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

TIER_COLOURS = {"red": "#b3261e", "yellow": "#b07800", "green": "#1d7a3a"}
TIER_WORDS = {"red": "Needs attention", "yellow": "Watch", "green": "On track"}
STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1d2733",
    foreground_strong="#1d2733",
    foreground_subtle="#4a5866",
    opacity=".9",
    opacity_hover="1",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=12,
    colors=(TIER_COLOURS["red"], TIER_COLOURS["yellow"], TIER_COLOURS["green"]),
)
PACE_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1d2733",
    foreground_strong="#1d2733",
    foreground_subtle="#4a5866",
    font_family=STYLE.font_family,
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    colors=("#0b5cad", "#4a5866", "#1d7a3a"),
)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)


def _clean(svg: str, label: str) -> str:
    """pygal's SVG without scripts and comments, announced as one image with `label`."""
    svg = _COMMENT.sub("", _SCRIPT.sub("", svg))
    return svg.replace(
        "<svg ", f'<svg role="img" aria-label="{escape(label)}" focusable="false" ', 1
    )


def cached(draw: Callable[..., str], *args: Any) -> str:
    """`draw(*args)`, kept an hour by its arguments: drawing costs tens of milliseconds a chart,
    and the same numbers draw the same chart."""
    key = "finishline:svg:" + hashlib.sha256(repr((draw.__name__, args)).encode()).hexdigest()
    svg: str | None = cache.get(key)
    if svg is None:
        svg = draw(*args)
        cache.set(key, svg, 3600)
    return svg


def _day(d: date) -> str:
    return f"{d.day} {d:%b}"


def risk_mix(series: Sequence[tuple[date, dict[str, int]]]) -> str:
    """Stacked bars: learners per tier on each scored day."""
    chart = pygal.StackedBar(
        style=STYLE,
        js=[],
        disable_xml_declaration=True,
        width=800,
        height=320,
        legend_at_bottom=True,
        legend_at_bottom_columns=3,
        x_label_rotation=0,
        show_minor_x_labels=False,
        x_labels_major_every=7,
        truncate_label=-1,
        margin=8,
        spacing=6,
    )
    chart.x_labels = [_day(d) for d, _ in series]
    for tier in ("red", "yellow", "green"):
        chart.add(TIER_WORDS[tier], [counts.get(tier, 0) for _, counts in series])
    first, last = (series[0], series[-1]) if series else (None, None)
    label = "Learners per risk group per day"
    if first and last:
        label += (
            f", {_day(first[0])} to {_day(last[0])}; on {_day(last[0])}: "
            f"{last[1].get('red', 0)} need attention, {last[1].get('yellow', 0)} to watch, "
            f"{last[1].get('green', 0)} on track"
        )
    return _clean(chart.render(is_unicode=True), label)


def pace(series: Sequence[tuple[date, float, float, float]]) -> str:
    """Lines: mean progress against what the schedule expected, and the share completed."""
    chart = pygal.Line(
        style=PACE_STYLE,
        js=[],
        disable_xml_declaration=True,
        width=800,
        height=320,
        legend_at_bottom=True,
        legend_at_bottom_columns=3,
        show_minor_x_labels=False,
        x_labels_major_every=7,
        truncate_label=-1,
        range=(0, 100),
        value_formatter=lambda v: f"{v:.0f}%",
        dots_size=2,
        margin=8,
    )
    chart.x_labels = [_day(d) for d, *_ in series]
    chart.add("Average progress", [round(m, 1) for _, m, _, _ in series])
    chart.add("Expected by the schedule", [round(e, 1) for _, _, e, _ in series])
    chart.add("Completed", [round(c, 1) for _, _, _, c in series])
    label = "Average progress against the schedule per day"
    if series:
        d, m, e, c = series[-1]
        label += f"; on {_day(d)}: {m:.0f}% done on average, {e:.0f}% expected, {c:.0f}% completed"
    return _clean(chart.render(is_unicode=True), label)


def sparkline(values: Sequence[float], name: str) -> str:
    """A learner's completion probability over the last days, as a small line."""
    chart = pygal.Line(
        style=Style(background="transparent", plot_background="transparent", colors=("#0b5cad",)),
        js=[],
        disable_xml_declaration=True,
        range=(0, 1),
    )
    chart.add("", [round(v, 3) for v in values])
    if values:
        label = (
            f"{name}: chance of finishing {100 * values[0]:.0f}% {len(values)} days ago, "
            f"{100 * values[-1]:.0f}% now"
        )
    else:
        label = f"{name}: no history"
    svg = chart.render_sparkline(width=120, height=28, show_dots=False, stroke_style={"width": 2})
    return _clean(svg, label)
