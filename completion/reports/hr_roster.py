"""HR roster import: department, role, location and hire date into a deployment's people.

Owns the roster's columns, checking every row (line numbers in the report) and merging into
`Person.attributes` all-or-nothing: one broken row rejects the file and no person changes. A row
names a person by `user_id` (the LTI `sub`) or else `email`; blank cells leave what is stored
alone; `role` is stored as `job_role` (the custom-claim name) and `hire_date` also as
`hire_cohort` ("2026-Q1"). It never creates people: a row about someone unknown is an error.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from completion.models import HrRosterImport
from completion.reports.compliance import hire_cohort
from lti_tool.audit.trail import append_audit
from lti_tool.models import Deployment, Person

COLUMNS = (
    "user_id", "email", "department", "role", "location", "hire_date", "section", "group",
    "manager_email", "phone",
)  # fmt: skip
# Roster column -> Person.attributes key (the custom-claim names the report reads).
RENAMED = {
    "department": "department", "role": "job_role", "location": "location",
    "section": "section", "group": "group", "manager_email": "manager_email", "phone": "phone",
}  # fmt: skip
MAX_BYTES = 10 * 1024 * 1024
MAX_VALUE = 200
MAX_ERRORS = 500
_CHUNK = 500


@dataclass(frozen=True)
class RosterRow:
    line: int
    user_id: str
    email: str
    attributes: dict[str, str]  # what to merge, blanks left out


@dataclass(frozen=True)
class RosterError:
    line: int
    reason: str


@dataclass(frozen=True)
class ParsedRoster:
    rows: list[RosterRow]
    errors: list[RosterError]
    total: int  # data rows read, good or not


class RowProblem(ValueError):
    pass


def parse_roster(data: bytes) -> ParsedRoster:
    """Every row of the file, and every problem found without the database. Pure."""
    if len(data) > MAX_BYTES:
        return ParsedRoster([], [RosterError(0, f"the file is over {MAX_BYTES >> 20} MB")], 0)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ParsedRoster([], [RosterError(0, "the file is not UTF-8 text")], 0)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    headers = [h.strip().lower() for h in reader.fieldnames or []]
    if "user_id" not in headers and "email" not in headers:
        found = ", ".join(headers) or "none"
        reason = f"the header needs a user_id or an email column (found: {found})"
        return ParsedRoster([], [RosterError(1, reason)], 0)
    reader.fieldnames = headers
    rows: list[RosterRow] = []
    errors: list[RosterError] = []
    total = 0
    try:
        for raw in reader:
            if all(not str(v or "").strip() for v in raw.values()) and None not in raw:
                continue  # a row of empty cells, as spreadsheets export after the data
            total += 1
            try:
                rows.append(parse_row(reader.line_num, raw))
            except RowProblem as exc:
                errors.append(RosterError(reader.line_num, str(exc)))
    except csv.Error as exc:
        errors.append(RosterError(reader.line_num, f"unreadable CSV: {exc}"))
    if not total and not errors:
        errors.append(RosterError(1, "the file has no rows"))
    return ParsedRoster(rows, errors, total)


def parse_row(line: int, raw: Mapping[Any, Any]) -> RosterRow:
    if None in raw or any(v is None for v in raw.values()):
        raise RowProblem("wrong number of columns")
    cells = {str(k): str(v).strip() for k, v in raw.items()}
    user_id, email = cells.get("user_id", ""), cells.get("email", "")
    if not user_id and not email:
        raise RowProblem("neither user_id nor email is given")
    too_long = [k for k in COLUMNS if len(cells.get(k, "")) > MAX_VALUE]
    if too_long:
        raise RowProblem(f"{', '.join(too_long)} longer than {MAX_VALUE} characters")
    attributes = {name: cells[column] for column, name in RENAMED.items() if cells.get(column)}
    if cells.get("hire_date"):
        try:
            hired = date.fromisoformat(cells["hire_date"])
        except ValueError as exc:
            value = cells["hire_date"]
            raise RowProblem(f"hire_date {value!r} is not a date like 2026-01-31") from exc
        attributes["hire_date"] = hired.isoformat()
        attributes["hire_cohort"] = hire_cohort(hired)
    return RosterRow(line, user_id, email.lower(), attributes)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def match_people(
    deployment: Deployment, rows: list[RosterRow]
) -> tuple[dict[int, Person], list[RosterError]]:
    """The person each row names (by line), and rows naming no one, several or a repeat."""
    subs = sorted({r.user_id for r in rows if r.user_id})
    emails = sorted({r.email for r in rows if not r.user_id})
    people = Person.objects.filter(deployment=deployment).select_for_update()
    by_sub = {p.sub: p for chunk in _chunks(subs) for p in people.filter(sub__in=chunk)}
    by_email: dict[str, list[Person]] = {}
    for chunk in _chunks(emails):
        for p in people.annotate(e=Lower("email")).filter(e__in=chunk):
            by_email.setdefault(p.email.lower(), []).append(p)
    matched: dict[int, Person] = {}
    errors: list[RosterError] = []
    first_line: dict[int, int] = {}
    for row in rows:
        found = [by_sub[row.user_id]] if row.user_id in by_sub else []
        if not row.user_id:
            found = by_email.get(row.email, [])
        who = f"user_id {row.user_id!r}" if row.user_id else f"email {row.email!r}"
        if not found:
            errors.append(RosterError(row.line, f"no person with {who} in this deployment"))
        elif len(found) > 1:
            errors.append(RosterError(row.line, f"{who} matches {len(found)} people; use user_id"))
        elif found[0].pk in first_line:
            line = first_line[found[0].pk]
            errors.append(RosterError(row.line, f"the same person as line {line}"))
        else:
            first_line[found[0].pk] = row.line
            matched[row.line] = found[0]
    return matched, errors


@transaction.atomic
def import_hr_roster(
    *, deployment: Deployment, data: bytes, filename: str, by: str
) -> HrRosterImport:
    """Merge a roster into the deployment's people, or change no one and report every error.

    Either way the attempt is recorded; a merge is audited.
    """
    parsed = parse_roster(data)
    matched, unmatched = match_people(deployment, parsed.rows)
    errors = sorted([*parsed.errors, *unmatched], key=lambda e: e.line)
    record = HrRosterImport(
        deployment=deployment,
        filename=filename[:500],
        sha256=sha256_of(data),
        rows_total=parsed.total,
        created_by=by,
    )
    if errors:
        record.status = HrRosterImport.Status.REJECTED
        record.errors = [{"line": e.line, "reason": e.reason} for e in errors[:MAX_ERRORS]]
        if len(errors) > MAX_ERRORS:
            record.errors.append({"line": 0, "reason": f"and {len(errors) - MAX_ERRORS} more"})
        record.save()
        return record
    now = timezone.now()
    changed: list[Person] = []
    for row in parsed.rows:
        person = matched[row.line]
        merged = {**person.attributes, **row.attributes}
        if merged != person.attributes:
            person.attributes, person.updated_at = merged, now
            changed.append(person)
    Person.objects.bulk_update(changed, ["attributes", "updated_at"], batch_size=_CHUNK)
    record.status = HrRosterImport.Status.DONE
    record.people_updated = len(changed)
    record.people_unchanged = len(parsed.rows) - len(changed)
    record.save()
    append_audit(
        actor=by,
        action="completion.hr_roster_imported",
        obj=record,
        deployment=deployment,
        data={
            "filename": record.filename,
            "sha256": record.sha256,
            "rows": record.rows_total,
            "people_updated": record.people_updated,
        },
    )
    return record
