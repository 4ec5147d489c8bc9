"""The documented column set of CSV and JSON Lines imports, parsed into events. Pure.

Columns (CSV header names, or JSON keys):
  learner_id | learner_email | learner_sourced_id  at least one; the LTI user id comes first
  course_id      the course's LTI context id (required)
  verb           launched, viewed, progressed, completed, attempted, passed, failed, submitted,
                 posted, errored, logged_in, logged_out, other (common synonyms accepted)
  timestamp      ISO 8601 with a UTC offset, e.g. 2026-03-02T10:00:00Z (required)
  source_id      the exporter's unique id for the row (required; a re-import stores it once)
  item_id, item_type, item_title   optional; item_type is module/page/assessment/forum/video/…
  duration_seconds, score (0..1), success (true/false)   optional
  count          optional: how many times the row stands for (a day's clicks on one item)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from completion.data import ITEM_KINDS, VERBS, ActorRef, EngagementEvent
from completion.ingest.limits import MAX_IRI_LENGTH, bad_text

MAX_CONTEXT_ID = 255  # an LTI context id, as courses keep it

COLUMNS = (
    "learner_id",
    "learner_email",
    "learner_sourced_id",
    "course_id",
    "item_id",
    "item_type",
    "item_title",
    "verb",
    "timestamp",
    "duration_seconds",
    "score",
    "success",
    "count",
    "source_id",
)
SYNONYMS = {
    "view": "viewed",
    "visit": "viewed",
    "open": "viewed",
    "launch": "launched",
    "complete": "completed",
    "finish": "completed",
    "pass": "passed",
    "fail": "failed",
    "submit": "submitted",
    "attempt": "attempted",
    "post": "posted",
    "reply": "posted",
    "error": "errored",
    "login": "logged_in",
    "logout": "logged_out",
    "progress": "progressed",
}
TRUE, FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n"}


class RowError(ValueError):
    """Why a row cannot be imported, in words for the report."""


def _texts(row: Mapping[str, object]) -> dict[str, str]:
    """Every documented column as stripped text, "" when absent (one pass: imports are hot)."""
    return {
        key: "" if value is None else (value if type(value) is str else str(value)).strip()
        for key in COLUMNS
        for value in (row.get(key),)
    }


def parse_number(
    text: str, key: str, *, low: float = -math.inf, high: float = math.inf
) -> float | None:
    """A column's number (None when empty); NaN, infinities and values outside [low, high]
    are refused with the column's name."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise RowError(f"{key} {text!r} is not a number") from exc
    if math.isnan(value) or math.isinf(value):
        raise RowError(f"{key} {text!r} is not a number")
    if not low <= value <= high:
        raise RowError(f"{key} must be between {low:g} and {high:g}")
    return value


def _storable(text: dict[str, str]) -> None:
    """Refuse text PostgreSQL cannot store, and ids longer than their columns."""
    for key, value in text.items():
        if problem := bad_text(value):
            raise RowError(f"{key}: {problem}")
    if len(text["course_id"]) > MAX_CONTEXT_ID:
        raise RowError(f"course_id is longer than {MAX_CONTEXT_ID} characters")
    if len(text["item_id"]) > MAX_IRI_LENGTH:
        raise RowError(f"item_id is longer than {MAX_IRI_LENGTH} characters")


def parse_row(row: Mapping[str, object]) -> EngagementEvent:
    """One row as an event; raises RowError with the reason."""
    text = _texts(row)
    _storable(text)
    actor = ActorRef(text["learner_id"], text["learner_email"].lower(), text["learner_sourced_id"])
    if not (actor.sub or actor.email or actor.sourced_id):
        raise RowError("no learner_id, learner_email or learner_sourced_id")
    course = text["course_id"]
    if not course:
        raise RowError("course_id is required")
    source_id = text["source_id"]
    if not source_id:
        raise RowError("source_id is required")
    if len(source_id) > 255:
        raise RowError("source_id is longer than 255 characters")
    verb = text["verb"].lower()
    verb = SYNONYMS.get(verb, verb)
    if verb not in VERBS:
        raise RowError(f"verb {text['verb']!r} is not one Finishline knows")
    stamp = text["timestamp"]
    try:
        occurred = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RowError(f"timestamp {stamp!r} is not ISO 8601") from exc
    if occurred.tzinfo is None:
        raise RowError(f"timestamp {stamp!r} has no UTC offset")
    kind = text["item_type"].lower()
    if kind and kind not in ITEM_KINDS:
        raise RowError(f"item_type {kind!r} is not one of {', '.join(sorted(ITEM_KINDS))}")
    score = parse_number(text["score"], "score")
    if score is not None and not 0 <= score <= 1:
        raise RowError("score must be between 0 and 1")
    duration = parse_number(text["duration_seconds"], "duration_seconds")
    if duration is not None and duration < 0:
        raise RowError("duration_seconds cannot be negative")
    count = parse_number(text["count"], "count")
    if count is not None and (count < 1 or count != int(count) or count > 2**31 - 1):
        raise RowError("count must be a whole number of at least 1")
    success_text = text["success"].lower()
    if success_text and success_text not in TRUE and success_text not in FALSE:
        raise RowError(f"success {success_text!r} is not true or false")
    return EngagementEvent(
        actor=actor,
        course_key=course,
        verb=verb,
        occurred_at=occurred,
        source="import",
        source_id=source_id,
        item_id=text["item_id"],
        item_kind=kind,
        item_title=text["item_title"][:500],
        duration_seconds=duration,
        score=score,
        success=(success_text in TRUE) if success_text else None,
        times=None if count is None else int(count),
    )
