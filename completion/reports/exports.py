"""Long exports (Excel, PDF) built in the background and offered for download when ready.

A request writes a small status file and queues `build`; the worker writes the export beside
it and marks it ready or failed. Each person sees only their own exports (files under
MEDIA_ROOT/exports/<person id>/); the newest few are kept.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.http import QueryDict
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from django_q.tasks import async_task

from completion.reports import compliance as reports
from completion.reports import selectors as sel
from lti_tool.models import Course
from lti_tool.pdf import html_to_pdf

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
PDF_MAX_ROWS = 5000
KEEP = 10


@dataclass(frozen=True)
class Export:
    token: str
    fmt: str
    title: str
    status: str  # queued, ready, failed
    requested_at: str  # ISO 8601
    filename: str = ""
    error: str = ""

    @property
    def label(self) -> str:
        return {"xlsx": "Excel", "pdf": "PDF"}.get(self.fmt, self.fmt)


def _folder(person_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / str(int(person_id))


def _write(person_id: int, export: Export) -> None:
    folder = _folder(person_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{export.token}.json").write_text(json.dumps(asdict(export)))


def render(report: reports.ComplianceReport, fmt: str) -> bytes:
    """The report as an Excel workbook or a PDF."""
    if fmt == "xlsx":
        return reports.to_xlsx(report)
    html = render_to_string(
        "reports/compliance_pdf.html",
        {"report": report, "rows": report.rows[:PDF_MAX_ROWS], "limit": PDF_MAX_ROWS},
    )
    return html_to_pdf(html)


def request_export(
    *, person_id: int, course_ids: list[int], query: str, title: str, fmt: str
) -> Export:
    """Queue an export of the compliance report the person is looking at (already authorised)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    export = Export(
        token=secrets.token_urlsafe(12),
        fmt=fmt,
        title=title,
        status="queued",
        requested_at=timezone.now().isoformat(),
    )
    _write(person_id, export)
    async_task(
        "completion.reports.exports.build", person_id, export.token, course_ids, query, title, fmt
    )
    return export


def build(
    person_id: int, token: str, course_ids: list[int], query: str, title: str, fmt: str
) -> str:
    """The worker's half: build the file, then mark the export ready (or failed, with why)."""
    found = get(person_id, token)
    if found is None:
        return "gone"
    try:
        courses = list(Course.objects.filter(pk__in=course_ids).order_by("title", "pk"))
        report = sel.compliance_report(
            courses,
            filters=reports.ReportFilters.from_query(QueryDict(query)),
            title=title,
            now=timezone.now(),
        )
        body = render(report, fmt)
    except Exception as exc:  # the person is told it failed; the worker logs the rest
        _write(person_id, Export(**{**asdict(found), "status": "failed", "error": str(exc)[:200]}))
        raise
    name = f"compliance-{slugify(title) or 'report'}-{timezone.now():%Y-%m-%d}.{fmt}"
    (_folder(person_id) / f"{token}.{fmt}").write_bytes(body)
    _write(person_id, Export(**{**asdict(found), "status": "ready", "filename": name}))
    _prune(person_id)
    return "ready"


def get(person_id: int, token: str) -> Export | None:
    if not token.replace("-", "").replace("_", "").isalnum():
        return None
    path = _folder(person_id) / f"{token}.json"
    if not path.is_file():
        return None
    return Export(**json.loads(path.read_text()))


def file_of(person_id: int, export: Export) -> Path:
    return _folder(person_id) / f"{export.token}.{export.fmt}"


def mine(person_id: int) -> list[Export]:
    """The person's exports, newest first."""
    folder = _folder(person_id)
    if not folder.is_dir():
        return []
    return [Export(**json.loads(p.read_text())) for p in _newest_first(folder)][:KEEP]


def _newest_first(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)


def _prune(person_id: int) -> None:
    folder = _folder(person_id)
    for status in _newest_first(folder)[KEEP:]:
        for path in folder.glob(f"{status.stem}.*"):
            path.unlink(missing_ok=True)
