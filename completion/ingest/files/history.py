"""The documented column sets of a learning history's other files: people and enrolments, items,
final outcomes. Pure: each row parsed into a record, or a `RowError` with the reason.

People and enrolments (`--kind people`), one row per enrolment:
  learner_id     the person's id (an LTI user id where there is one; required)
  course_id      the course's context id (required; a course not known yet is created)
  role           learner (default), instructor, teaching_assistant, observer
  enrolled_at    ISO 8601 date or time (required; a date means the start of that day, UTC)
  withdrawn_at, withdrawal_reason   optional: the learner left the course then
  learner_email, name, course_title   optional
  prior_attempts, credits           optional: earlier attempts at this course, credits studied

Items (`--kind items`):
  course_id, item_id (required); item_type (module, page, assessment, forum, video, link,
  other), item_title, due_at (ISO date or time), weight (>= 0), pass_mark (0..1),
  section, position   optional

Final outcomes (`--kind outcomes`):
  learner_id, course_id (required); result: completed, passed, failed or withdrawn
  (required); decided_on (ISO date, required); source (import by default), note   optional
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import NamedTuple

from completion.data import ITEM_KINDS
from completion.ingest.files.rows import MAX_CONTEXT_ID, RowError, parse_number
from completion.ingest.limits import MAX_IRI_LENGTH, bad_text

PEOPLE = "people"
ITEMS = "items"
OUTCOMES = "outcomes"
PEOPLE_COLUMNS = (
    "learner_id",
    "learner_email",
    "name",
    "course_id",
    "course_title",
    "role",
    "enrolled_at",
    "withdrawn_at",
    "withdrawal_reason",
    "prior_attempts",
    "credits",
)
ITEM_COLUMNS = (
    "course_id",
    "item_id",
    "item_type",
    "item_title",
    "due_at",
    "weight",
    "pass_mark",
    "section",
    "position",
)
OUTCOME_COLUMNS = ("learner_id", "course_id", "result", "decided_on", "source", "note")
COLUMNS = {PEOPLE: PEOPLE_COLUMNS, ITEMS: ITEM_COLUMNS, OUTCOMES: OUTCOME_COLUMNS}
REQUIRED = {
    PEOPLE: frozenset({"learner_id", "course_id", "enrolled_at"}),
    ITEMS: frozenset({"course_id", "item_id"}),
    OUTCOMES: frozenset({"learner_id", "course_id", "result", "decided_on"}),
}
ROLES = ("learner", "instructor", "teaching_assistant", "observer")
RESULTS = ("completed", "passed", "failed", "withdrawn")
SOURCES = ("import", "lms", "nrps", "ags", "instructor", "synthetic")


class Enrolment(NamedTuple):
    learner_id: str
    email: str
    name: str
    course_id: str
    course_title: str
    role: str
    enrolled_at: datetime
    withdrawn_at: datetime | None
    withdrawal_reason: str
    prior_attempts: int | None
    credits: float | None


class ItemRecord(NamedTuple):
    course_id: str
    item_id: str
    kind: str
    title: str
    due_at: datetime | None
    weight: float | None
    pass_mark: float | None
    section: str
    position: int | None


class OutcomeRecord(NamedTuple):
    learner_id: str
    course_id: str
    result: str
    decided_on: date
    source: str
    note: str


def _texts(row: Mapping[str, object], columns: tuple[str, ...]) -> dict[str, str]:
    text = {k: "" if row.get(k) is None else str(row.get(k)).strip() for k in columns}
    for key, value in text.items():
        if problem := bad_text(value):
            raise RowError(f"{key}: {problem}")
    if len(text.get("course_id", "")) > MAX_CONTEXT_ID:
        raise RowError(f"course_id is longer than {MAX_CONTEXT_ID} characters")
    for key in columns:
        if key in REQUIRED_ANY and not text[key]:
            raise RowError(f"{key} is required")
    return text


REQUIRED_ANY = frozenset({"learner_id", "course_id", "item_id"})


def _moment(text: str, key: str) -> datetime | None:
    """An ISO date (the start of that day, UTC) or a time with a UTC offset."""
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RowError(f"{key} {text!r} is not an ISO 8601 date or time") from exc
    if found.tzinfo is None:
        raise RowError(f"{key} {text!r} has no UTC offset")
    return found


def _whole(text: str, key: str) -> int | None:
    value = parse_number(text, key, low=0, high=1e6)
    if value is not None and value != int(value):
        raise RowError(f"{key} {text!r} is not a whole number")
    return None if value is None else int(value)


def parse_enrolment(row: Mapping[str, object]) -> Enrolment:
    t = _texts(row, PEOPLE_COLUMNS)
    role = t["role"].lower() or "learner"
    if role not in ROLES:
        raise RowError(f"role {role!r} is not one of {', '.join(ROLES)}")
    enrolled = _moment(t["enrolled_at"], "enrolled_at")
    if enrolled is None:
        raise RowError("enrolled_at is required")
    withdrawn = _moment(t["withdrawn_at"], "withdrawn_at")
    if withdrawn is not None and withdrawn < enrolled:
        raise RowError("withdrawn_at is before enrolled_at")
    return Enrolment(
        t["learner_id"],
        t["learner_email"].lower(),
        t["name"][:255],
        t["course_id"],
        t["course_title"][:255],
        role,
        enrolled,
        withdrawn,
        t["withdrawal_reason"][:200],
        _whole(t["prior_attempts"], "prior_attempts"),
        parse_number(t["credits"], "credits", low=0),
    )


def parse_item(row: Mapping[str, object]) -> ItemRecord:
    t = _texts(row, ITEM_COLUMNS)
    if len(t["item_id"]) > MAX_IRI_LENGTH:
        raise RowError(f"item_id is longer than {MAX_IRI_LENGTH} characters")
    kind = t["item_type"].lower() or "other"
    if kind not in ITEM_KINDS:
        raise RowError(f"item_type {kind!r} is not one of {', '.join(sorted(ITEM_KINDS))}")
    return ItemRecord(
        t["course_id"],
        t["item_id"],
        kind,
        t["item_title"][:500],
        _moment(t["due_at"], "due_at"),
        parse_number(t["weight"], "weight", low=0),
        parse_number(t["pass_mark"], "pass_mark", low=0, high=1),
        t["section"][:200],
        _whole(t["position"], "position"),
    )


def parse_outcome(row: Mapping[str, object]) -> OutcomeRecord:
    t = _texts(row, OUTCOME_COLUMNS)
    result = t["result"].lower()
    if result not in RESULTS:
        raise RowError(f"result {t['result']!r} is not one of {', '.join(RESULTS)}")
    decided = _moment(t["decided_on"], "decided_on")
    if decided is None:
        raise RowError("decided_on is required")
    source = t["source"].lower() or "import"
    if source not in SOURCES:
        raise RowError(f"source {source!r} is not one of {', '.join(SOURCES)}")
    return OutcomeRecord(
        t["learner_id"], t["course_id"], result, decided.date(), source, t["note"][:200]
    )
