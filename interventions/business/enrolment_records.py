"""What the organisation tells Finishline about money: its enrolment and refund records (CSV)
and its stated economics (fee, costs, baseline period) that stand in where records are silent.

An import is all-or-nothing: every row is parsed and its learner and course resolved first;
if any row is broken the report lists each with its line number and nothing is written. A
re-import stores nothing twice (one row per learner, course, kind and day).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from interventions.models import AttributionSettings, EnrolmentRecord
from lti_tool.audit.trail import append_audit
from lti_tool.models import Course, Deployment, Person

COLUMNS = ("learner", "course", "date", "amount", "refund")
MAX_BYTES = 20 * 1024 * 1024
MAX_REPORTED = 500
TRUE = {"1", "true", "yes", "y", "t"}
FALSE = {"", "0", "false", "no", "n", "f"}


@dataclass(frozen=True)
class RecordRow:
    line: int
    learner: str
    course: str
    on: date
    amount: Decimal | None
    refund: bool


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str


@dataclass(frozen=True)
class ImportReport:
    rows: int
    stored: int
    duplicates: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_row(line: int, row: dict[str, str]) -> RecordRow:
    """One CSV row; raises ValueError with the reason."""
    learner, course = row["learner"].strip(), row["course"].strip()
    if not learner:
        raise ValueError("learner is empty (give the LTI user id or the email)")
    if not course:
        raise ValueError("course is empty (give the context id or the title)")
    try:
        on = date.fromisoformat(row["date"].strip())
    except ValueError:
        raise ValueError(f"date {row['date']!r} is not YYYY-MM-DD") from None
    amount = None
    if row["amount"].strip():
        try:
            amount = Decimal(row["amount"].strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"amount {row['amount']!r} is not a number") from None
        if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
            raise ValueError(f"amount {row['amount']!r} must be 0 or more (flag refunds instead)")
    flag = row["refund"].strip().lower()
    if flag not in TRUE | FALSE:
        raise ValueError(f"refund {row['refund']!r} is not yes/no, true/false or 1/0")
    return RecordRow(line, learner, course, on, amount, flag in TRUE)


def parse_csv(data: bytes) -> tuple[list[RecordRow], list[Problem]]:
    """Every row of the file, and every broken row with its line number."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [Problem(1, "the file is not UTF-8 text")]
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        return [], [Problem(1, f"the header lacks {', '.join(missing)} (columns: {COLUMNS})")]
    rows: list[RecordRow] = []
    problems: list[Problem] = []
    try:
        for row in reader:
            try:
                if None in row or any(v is None for v in row.values()):
                    raise ValueError("wrong number of columns")
                rows.append(parse_row(reader.line_num, row))
            except ValueError as exc:
                problems.append(Problem(reader.line_num, str(exc)))
    except csv.Error as exc:
        problems.append(Problem(reader.line_num, f"not valid CSV: {exc}"))
    return rows, problems


def _lookup(pairs: Iterable[tuple[int, str]]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for pk, key in pairs:
        found.setdefault(key, set()).add(pk)
    return found


def resolve(
    deployment: Deployment, rows: list[RecordRow]
) -> tuple[list[tuple[RecordRow, int, int]], list[Problem]]:
    """Each row's person and course in the deployment (LTI id, else email; context id, else
    title); unknown or ambiguous names are problems."""
    learners = {r.learner for r in rows}
    people = Person.objects.filter(deployment=deployment)
    by_sub = _lookup(people.filter(sub__in=learners).values_list("pk", "sub"))
    by_email = _lookup(
        people.annotate(e=Lower("email"))
        .filter(e__in={x.lower() for x in learners})
        .values_list("pk", "e")
    )
    names = {r.course for r in rows}
    courses = Course.objects.filter(deployment=deployment)
    by_context = _lookup(courses.filter(context_id__in=names).values_list("pk", "context_id"))
    by_title = _lookup(
        courses.annotate(t=Lower("title"))
        .filter(t__in={x.lower() for x in names})
        .values_list("pk", "t")
    )
    resolved, problems = [], []
    for row in rows:
        person = by_sub.get(row.learner) or by_email.get(row.learner.lower(), set())
        course = by_context.get(row.course) or by_title.get(row.course.lower(), set())
        reason = _ambiguity("learner", row.learner, person) or _ambiguity(
            "course", row.course, course
        )
        if reason:
            problems.append(Problem(row.line, reason))
        else:
            resolved.append((row, next(iter(person)), next(iter(course))))
    return resolved, problems


def _ambiguity(what: str, name: str, found: set[int]) -> str:
    if not found:
        return f"no {what} {name!r} in this deployment"
    if len(found) > 1:
        return f"{what} {name!r} matches {len(found)} records; use the LTI id or context id"
    return ""


@transaction.atomic
def import_records(
    *, deployment: Deployment, data: bytes, by: str, now: datetime | None = None
) -> ImportReport:
    """Import a CSV of enrolments and refunds whole, or report its broken rows and write none."""
    if len(data) > MAX_BYTES:
        return ImportReport(0, 0, 0, (Problem(0, "the file is larger than 20 MB"),))
    rows, problems = parse_csv(data)
    resolved, unresolved = resolve(deployment, rows) if rows else ([], [])
    problems = sorted(problems + unresolved, key=lambda p: p.line)
    if problems or not rows:
        problems = problems or [Problem(1, "the file has no rows")]
        total = len(rows) + len({p.line for p in problems} - {r.line for r in rows})
        return ImportReport(total, 0, 0, tuple(problems[:MAX_REPORTED]))
    now = now or timezone.now()
    records: dict[tuple[int, int, str, date], EnrolmentRecord] = {}
    for row, person, course in resolved:
        kind = EnrolmentRecord.Kind.REFUND if row.refund else EnrolmentRecord.Kind.ENROLMENT
        records.setdefault(
            (person, course, kind, row.on),
            EnrolmentRecord(
                deployment=deployment, person_id=person, course_id=course, kind=kind, on=row.on,
                amount=row.amount, imported_at=now, imported_by=by,
            ),
        )  # fmt: skip
    existing = set(
        EnrolmentRecord.objects.filter(
            person_id__in={k[0] for k in records}, course_id__in={k[1] for k in records}
        ).values_list("person_id", "course_id", "kind", "on")
    )
    new = [r for key, r in records.items() if key not in existing]
    EnrolmentRecord.objects.bulk_create(new, ignore_conflicts=True)
    report = ImportReport(len(rows), len(new), len(rows) - len(new), ())
    append_audit(
        actor=by,
        action="business.records_imported",
        deployment=deployment,
        data={"rows": report.rows, "stored": report.stored, "duplicates": report.duplicates},
    )
    return report


@transaction.atomic
def update_attribution_settings(
    *, deployment: Deployment, values: dict[str, object], by: str
) -> AttributionSettings:
    """Store the deployment's stated economics (the "assumed" inputs), audited."""
    row, _ = AttributionSettings.objects.update_or_create(deployment=deployment, defaults=values)
    append_audit(
        actor=by,
        action="business.attribution_settings_changed",
        obj=row,
        deployment=deployment,
        data={k: str(v) for k, v in values.items()},
    )
    return row
