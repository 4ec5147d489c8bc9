"""Compliance report rows: shaping, filtering, grouping, and the CSV and XLSX files. Pure.

Owns what a row of the compliance report says (the course's own status words, with paused and
exempt learners shown as such), how rows are filtered and grouped by the reporting attributes,
and the bytes of the CSV and XLSX files. It reads no database (`report_selectors` does) and
renders no PDF (the views hand HTML to `lti_tool.pdf`).
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook

from completion.progress import criteria as crit

# Person.attributes keys the report reads (the custom-claim names of lti_tool.services).
ATTRIBUTES = ("department", "job_role", "location", "hire_cohort")
ATTRIBUTE_LABELS = {
    "department": "Department",
    "job_role": "Role",
    "location": "Location",
    "hire_cohort": "Hire cohort",
}
GROUPS = {"course": "Course", **ATTRIBUTE_LABELS}
UNSET = "(not set)"
NOT_SCORED = "Not scored yet"
EXEMPT = "Exempt"
PAUSED = "Paused"
HEADERS = (
    "Learner",
    "Email",
    "Course",
    "Status",
    "Course status",
    "Percent complete",
    "Due date",
    "Paused until",
    "Exemption reason",
    "Department",
    "Role",
    "Location",
    "Hire cohort",
    "Compliance",
    "Completed on",
    "Score",
    "Certificate id",
    "Expires on",
    "Instructor",
)
# The compliance lifecycle. A course's `status_labels` may rename any of these by its code.
COMPLIANT, DUE_SOON, OVERDUE = "compliant", "due_soon", "overdue"
EXPIRED, FAILED, RENEWAL = "expired", "failed", "renewal_required"
LIFECYCLE = crit.LIFECYCLE_LABELS
DUE_SOON_DAYS = 30
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hire_cohort(hired_on: date) -> str:
    """The calendar quarter of a hire date, e.g. "2026-Q1"."""
    return f"{hired_on.year}-Q{(hired_on.month - 1) // 3 + 1}"


def reporting_attributes(raw: Mapping[str, Any]) -> dict[str, str]:
    """A person's four reporting attributes; the hire cohort comes from `hire_date` if unset."""
    found = {key: str(raw.get(key) or "").strip() for key in ATTRIBUTES}
    if not found["hire_cohort"] and raw.get("hire_date"):
        with contextlib.suppress(ValueError):
            found["hire_cohort"] = hire_cohort(date.fromisoformat(str(raw["hire_date"])))
    return found


@dataclass(frozen=True)
class LearnerFacts:
    """What the database knows of one learner in one course, as `report_selectors` loads it."""

    membership_id: int
    course_id: int
    course: str
    name: str
    email: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    status: str = ""  # the newest Progress.status; "" when never scored
    status_label: str = ""
    percent_complete: float | None = None
    due_on: date | None = None
    as_of: date | None = None
    paused_until: date | None = None  # the end of a pause covering today
    override: str = ""  # the status override in force now; "" when none
    override_reason: str = ""
    credential: CredentialFacts | None = None
    score: float | None = None  # 0..1, the newest progress's
    instructor: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)  # the course's status wording
    today: date | None = None


@dataclass(frozen=True)
class CredentialFacts:
    """A learner's newest certificate in the course, as the certificates app tells it."""

    serial: str
    issued_on: date
    expires_on: date | None = None
    renewal_from: date | None = None
    score: float | None = None
    revoked: bool = False


def lifecycle(facts: LearnerFacts) -> str:
    """Where the learner stands in the compliance lifecycle (a LIFECYCLE code), or "" when
    none applies yet (in progress with the deadline more than DUE_SOON_DAYS away).

    A credential's expiry wins over the course's computed status: a lapsed certificate is
    Expired even when the course was completed, and Renewal required from its renewal date.
    Failed: every item done but the criteria (pass marks) not met."""
    today, cred = facts.today, facts.credential
    if today is not None and cred is not None and not cred.revoked:
        if cred.expires_on is not None and cred.expires_on <= today:
            return EXPIRED
        if cred.renewal_from is not None and cred.renewal_from <= today:
            return RENEWAL
        return COMPLIANT
    if facts.status == crit.COMPLETED or facts.override in (crit.COMPLETED, crit.EXEMPT):
        return COMPLIANT
    if (facts.percent_complete or 0) >= 100:
        return FAILED
    if facts.status == crit.OVERDUE or (
        today is not None and facts.due_on is not None and facts.due_on < today
    ):
        return OVERDUE
    if (
        today is not None
        and facts.due_on is not None
        and (facts.due_on - today).days <= (DUE_SOON_DAYS)
    ):
        return DUE_SOON
    return ""


@dataclass(frozen=True)
class ComplianceRow:
    membership_id: int
    course_id: int
    learner: str
    email: str
    course: str
    status: str  # what the report shows: Exempt, Paused, or the course's own wording
    course_status: str  # the course's own wording of the computed status
    status_code: str  # completion.progress.criteria status, "exempt", "paused" or "" (not scored)
    percent_complete: float | None
    due_on: date | None
    paused_until: date | None
    exemption_reason: str
    department: str
    job_role: str
    location: str
    hire_cohort: str
    as_of: date | None
    lifecycle_code: str = ""
    lifecycle: str = ""  # the course's word for the lifecycle status
    completed_on: date | None = None
    score: float | None = None  # percent
    certificate_id: str = ""
    expires_on: date | None = None
    instructor: str = ""

    @property
    def exempt(self) -> bool:
        return self.status_code == "exempt"

    def key(self, by: str) -> str:
        """The value of a grouping or filter field, UNSET when blank."""
        value = self.course if by == "course" else str(getattr(self, by, ""))
        return value or UNSET

    def cells(self) -> tuple[str | float | date | None, ...]:
        return (
            self.learner,
            self.email,
            self.course,
            self.status,
            self.course_status,
            None if self.percent_complete is None else round(self.percent_complete, 1),
            self.due_on,
            self.paused_until,
            self.exemption_reason,
            self.department,
            self.job_role,
            self.location,
            self.hire_cohort,
            self.lifecycle,
            self.completed_on,
            self.score,
            self.certificate_id,
            self.expires_on,
            self.instructor,
        )


def shape_row(facts: LearnerFacts) -> ComplianceRow:
    """One report row. An exemption (an override to "exempt") wins over a pause; an override
    to completed is a completion (with its certificate) and shows as the course's status.
    """
    course_status = facts.status_label or NOT_SCORED
    if facts.override == crit.EXEMPT:
        shown, code = EXEMPT, "exempt"
    elif facts.paused_until is not None:
        shown, code = PAUSED, "paused"
    else:
        shown, code = course_status, facts.status
    attributes = reporting_attributes(facts.attributes)
    row = ComplianceRow(
        membership_id=facts.membership_id,
        course_id=facts.course_id,
        learner=facts.name,
        email=facts.email,
        course=facts.course,
        status=shown,
        course_status=course_status,
        status_code=code,
        percent_complete=facts.percent_complete,
        due_on=facts.due_on,
        paused_until=facts.paused_until,
        exemption_reason=facts.override_reason if code == "exempt" else "",
        as_of=facts.as_of,
        department=attributes["department"],
        job_role=attributes["job_role"],
        location=attributes["location"],
        hire_cohort=attributes["hire_cohort"],
    )
    return replace(row, **_audit_fields(facts))


def _audit_fields(facts: LearnerFacts) -> dict[str, Any]:
    """The lifecycle status in the course's words, and what an OSHA-style audit asks for."""
    code, cred = lifecycle(facts), facts.credential
    score = cred.score if cred is not None and cred.score is not None else facts.score
    return {
        "lifecycle_code": code,
        "lifecycle": facts.labels.get(code) or LIFECYCLE.get(code, ""),
        "completed_on": cred.issued_on if cred else None,
        "score": None if score is None else round(score * 100, 1),
        "certificate_id": cred.serial if cred else "",
        "expires_on": cred.expires_on if cred else None,
        "instructor": facts.instructor,
    }


@dataclass(frozen=True)
class ReportFilters:
    """Exact-value filters on the reporting attributes (UNSET matches blanks) and a grouping."""

    department: str = ""
    job_role: str = ""
    location: str = ""
    hire_cohort: str = ""
    group_by: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ReportFilters:
        values = {key: str(query.get(key, "")).strip()[:200] for key in ATTRIBUTES}
        group_by = str(query.get("group_by", ""))
        return cls(**values, group_by=group_by if group_by in GROUPS else "")

    def matches(self, row: ComplianceRow) -> bool:
        return all(
            not wanted or row.key(key) == wanted
            for key, wanted in (
                ("department", self.department),
                ("job_role", self.job_role),
                ("location", self.location),
                ("hire_cohort", self.hire_cohort),
            )
        )

    def active(self) -> dict[str, str]:
        """The filters set, keyed by their label, for the page and file headers."""
        return {
            ATTRIBUTE_LABELS[key]: getattr(self, key) for key in ATTRIBUTES if getattr(self, key)
        }


@dataclass(frozen=True)
class GroupSummary:
    key: str
    learners: int
    completed: int
    exempt: int
    paused: int
    overdue: int
    not_scored: int

    @property
    def compliant_percent(self) -> float:
        """Completed or exempt, as a share of the group's learners."""
        return 100.0 * (self.completed + self.exempt) / self.learners if self.learners else 0.0


def summarise(key: str, rows: Sequence[ComplianceRow]) -> GroupSummary:
    codes = [r.status_code for r in rows]
    return GroupSummary(
        key=key,
        learners=len(rows),
        completed=codes.count(crit.COMPLETED),
        exempt=codes.count("exempt"),
        paused=codes.count("paused"),
        overdue=codes.count(crit.OVERDUE),
        not_scored=codes.count(""),
    )


@dataclass(frozen=True)
class ComplianceReport:
    title: str
    generated_at: datetime
    filters: ReportFilters
    rows: list[ComplianceRow]  # filtered, sorted by group, course and learner
    groups: list[tuple[GroupSummary, list[ComplianceRow]]]  # one ("All learners") if ungrouped
    total: GroupSummary
    options: dict[str, list[str]]  # values present per attribute, before filtering


def build_report(
    facts: Iterable[LearnerFacts], *, filters: ReportFilters, title: str, now: datetime
) -> ComplianceReport:
    everyone = [shape_row(f) for f in facts]
    options = {key: sorted({r.key(key) for r in everyone}) for key in ATTRIBUTES}
    by = filters.group_by

    def order(r: ComplianceRow) -> tuple[str, str, str, int]:
        return (r.key(by) if by else "", r.course.lower(), r.learner.lower(), r.membership_id)

    rows = sorted((r for r in everyone if filters.matches(r)), key=order)
    buckets: dict[str, list[ComplianceRow]] = {}
    for row in rows:
        buckets.setdefault(row.key(by) if by else "All learners", []).append(row)
    return ComplianceReport(
        title=title,
        generated_at=now,
        filters=filters,
        rows=rows,
        groups=[(summarise(k, v), v) for k, v in buckets.items()],
        total=summarise("All learners", rows),
        options=options,
    )


def _safe(value: str | float | date | None) -> str | float | date | None:
    """Text a spreadsheet would run as a formula, quoted so it stays text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(report: ComplianceReport) -> str:
    """The rows as CSV (group summary rows are left to XLSX and PDF)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for row in report.rows:
        writer.writerow(["" if v is None else _safe(v) for v in row.cells()])
    return out.getvalue()


def to_xlsx(report: ComplianceReport) -> bytes:
    """A workbook with the rows on one sheet and the group summary on another."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Learners"
    _append(sheet, HEADERS)
    for row in report.rows:
        _append(sheet, row.cells())
    for cells in sheet.iter_rows(min_row=2, min_col=7, max_col=8):
        for cell in cells:
            cell.number_format = "yyyy-mm-dd"
    summary = book.create_sheet("Summary")
    label = GROUPS.get(report.filters.group_by, "Group")
    _append(summary, (label, "Learners", "Completed", "Exempt", "Paused", "Overdue", "Compliant %"))
    for group, _ in [*report.groups, (report.total, [])]:
        _append(
            summary,
            (
                group.key,
                group.learners,
                group.completed,
                group.exempt,
                group.paused,
                group.overdue,
                round(group.compliant_percent, 1),
            ),
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _append(sheet: Any, values: Sequence[str | float | date | None]) -> None:
    """Append a row; text is always stored as text, never run as a formula."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
