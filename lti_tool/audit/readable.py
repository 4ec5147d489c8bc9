"""A person's data (`privacy.collect`) as a person reads it: headings in words, values
formatted, codes turned into words. The downloads keep the stored names and values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

HEADINGS = {
    "sub": "Your id in your LMS",
    "course__context_id": "Course id",
    "course__title": "Course",
    "item__title": "Item",
    "verb": "What happened",
    "occurred_at": "When",
    "duration_seconds": "Seconds",
    "to_address": "Sent to",
    "by": "By",
    "actor": "By",
}
SECTIONS = {"profile": "Your profile", "enrolments": "Your courses"}
CODE = re.compile(r"^([a-z]+):([a-z0-9_]+)$")


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    headings: list[str]
    rows: list[list[str]]
    total: int


def heading(key: str) -> str:
    if key in HEADINGS:
        return HEADINGS[key]
    words = key.replace("__", " ").replace("_", " ").strip()
    if words.endswith(" at") and len(words) > 3:
        words = words[:-3]
    return words.capitalize()


def value(key: str, v: Any, *, me: str = "") -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return "Yes" if v else "No"
    if isinstance(v, datetime):
        return f"{v.day} {v:%b %Y, %H:%M} UTC"
    if isinstance(v, date):
        return f"{v.day} {v:%b %Y}"
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".")
    if isinstance(v, Mapping):
        return "; ".join(f"{heading(str(k))}: {value(str(k), x, me=me)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return ", ".join(value(key, x, me=me) for x in v)
    text = str(v)
    found = CODE.match(text)
    if found:
        kind, rest = found.groups()
        if text == me:
            return "you"
        if kind in ("person", "staff"):
            return "a staff member"
        if kind == "learner":
            return "you"
        return f"{kind.capitalize()}: {rest.replace('_', ' ')}"
    return text


def sections(
    data: Mapping[str, Sequence[Mapping[str, Any]]], *, me: str = "", limit: int = 20
) -> list[Section]:
    out = []
    for name, rows in data.items():
        keys = list(rows[0].keys()) if rows else []
        out.append(
            Section(
                key=name,
                title=SECTIONS.get(name, heading(name)),
                headings=[heading(k) for k in keys],
                rows=[[value(k, row.get(k), me=me) for k in keys] for row in rows[:limit]],
                total=len(rows),
            )
        )
    return out
