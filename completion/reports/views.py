"""Report pages: compliance (HTML, CSV; Excel and PDF built in the background), the HR roster
import, the audit export.

Staff see their launch's course; an administrator may pick any course of the deployment or all
of them, import HR rosters and export the audit trail. Views parse, authorise, call one
selector or service, and render.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date
from typing import Any

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from completion.models import HrRosterImport, ReportSchedule
from completion.reports import compliance as reports
from completion.reports import exports
from completion.reports import selectors as sel
from completion.reports.compliance_page import CompliancePage, compliance_page
from completion.reports.delivery import ScheduleRefused, cancel_schedule, schedule_report
from completion.reports.hr_roster import MAX_BYTES, import_hr_roster
from lti_tool import selectors
from lti_tool.db.paging import PER_PAGE, asked
from lti_tool.decorators import launch_of, launch_required
from lti_tool.models import Course, Role
from lti_tool.selectors import STAFF_ROLES

ADMIN = [Role.ADMIN]


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@launch_required(roles=STAFF_ROLES)
def compliance(request: HttpRequest) -> HttpResponse:
    """Learners' completion status with their reporting attributes; `format` exports it."""
    launch = launch_of(request)
    everything = request.GET.get("scope") == "all" or (
        launch.role == Role.ADMIN and launch.course_id is None and "course" not in request.GET
    )
    courses = sel.report_courses(
        launch, all_courses=everything, course_id=_int(request.GET.get("course"))
    )
    title = "All courses" if everything else courses[0].title or courses[0].context_id
    filters = reports.ReportFilters.from_query(request.GET)
    if request.GET.get("format", "") == "csv":
        return _export(sel.compliance_report(courses, filters=filters, title=title,
                                             now=timezone.now()), "csv")  # fmt: skip
    report = compliance_page(
        courses, filters=filters, title=title, now=timezone.now(),
        page=asked(request.GET), per_page=PER_PAGE,
        sort=request.GET.get("sort", ""),
    )  # fmt: skip
    course = None if everything else courses[0]
    error = notice = ""
    if request.method == "POST":
        error, notice = _schedule_action(request, course)
    context = {**_page_context(request, report, course), "error": error, "notice": notice,
               "schedules": _schedules(request, course),
               "formats": ReportSchedule.Format.choices}  # fmt: skip
    return render(request, "reports/compliance.html", context, status=400 if error else 200)


def _schedules(request: HttpRequest, course: Course | None) -> list[ReportSchedule]:
    launch = launch_of(request)
    return list(
        ReportSchedule.objects.filter(deployment_id=launch.deployment_id, course=course).order_by(
            "pk"
        )
    )


def _schedule_action(request: HttpRequest, course: Course | None) -> tuple[str, str]:
    """Staff: email this report on a schedule, or stop a schedule of this report."""
    launch = launch_of(request)
    by = f"person:{launch.person_id}"
    try:
        if request.POST.get("action") == "cancel":
            schedule = ReportSchedule.objects.get(
                deployment_id=launch.deployment_id, course=course,
                pk=_int(request.POST.get("schedule")) or 0,
            )  # fmt: skip
            cancel_schedule(schedule, by=by)
            return "", "The schedule is cancelled."
        made = schedule_report(
            deployment=selectors.deployment_of(launch), course=course,
            recipients=request.POST.get("recipients", ""), fmt=request.POST.get("fmt", ""),
            every_days=_int(request.POST.get("every_days")) or 0, by=by,
        )  # fmt: skip
    except (ScheduleRefused, ReportSchedule.DoesNotExist) as exc:
        return (str(exc) if isinstance(exc, ScheduleRefused) else "No such schedule."), ""
    return "", f"The report will be emailed to {made.recipients}, first today."


@require_POST
@launch_required(roles=STAFF_ROLES)
def export_compliance(request: HttpRequest) -> HttpResponse:
    """Queue an Excel or PDF export of the report as filtered; the page offers it when ready."""
    launch = launch_of(request)
    query = QueryDict(request.POST.get("query", ""))
    everything = query.get("scope") == "all" or (
        launch.role == Role.ADMIN and launch.course_id is None and "course" not in query
    )
    courses = sel.report_courses(
        launch, all_courses=everything, course_id=_int(query.get("course"))
    )
    fmt = request.POST.get("format", "")
    if fmt not in exports.FORMATS:
        return HttpResponse("Choose Excel or PDF.", status=400)
    exports.request_export(
        person_id=launch.person_id,
        course_ids=[c.pk for c in courses],
        query=query.urlencode(),
        title="All courses" if everything else courses[0].title or courses[0].context_id,
        fmt=fmt,
    )
    back = query.copy()
    back["done"] = "export"
    return redirect(f"{reverse('reports:compliance')}?{back.urlencode()}")


@launch_required(roles=STAFF_ROLES)
def download_export(request: HttpRequest, token: str) -> HttpResponse:
    """One of the person's own finished exports."""
    person_id = launch_of(request).person_id
    export = exports.get(person_id, token)
    if export is None or export.status != "ready":
        raise Http404("No such export is ready.")
    response = HttpResponse(
        exports.file_of(person_id, export).read_bytes(), content_type=exports.FORMATS[export.fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


def _page_context(
    request: HttpRequest, report: CompliancePage, course: Course | None
) -> dict[str, Any]:
    launch = launch_of(request)
    return {
        "report": report,
        "export_query": request.GET.urlencode(),
        "everything": course is None,
        "course": course,
        "is_admin": launch.role == Role.ADMIN,
        "has_course": launch.course_id is not None,
        "shown": report.rows,
        "page": report.page,
        "pages": report.pages,
        "page_query": _without(request, "page"),
        "sort_query": _without(request, "page", "sort"),
        "sort": request.GET.get("sort", ""),
        "exports": exports.mine(launch.person_id),
        "groups": reports.GROUPS,
        "group_label": reports.GROUPS.get(report.filters.group_by, "Group"),
        "fields": [
            (k, reports.ATTRIBUTE_LABELS[k], report.options[k], getattr(report.filters, k))
            for k in reports.ATTRIBUTES
        ],
    }


def _without(request: HttpRequest, *keys: str) -> str:
    """The query string without `keys`, for page and sort links to keep the rest."""
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


def _export(report: reports.ComplianceReport, fmt: str) -> HttpResponse:
    name = f"compliance-{slugify(report.title) or 'report'}-{report.generated_at:%Y-%m-%d}"
    # A byte-order mark so spreadsheet programs read the file as UTF-8.
    body = "\ufeff" + reports.to_csv(report)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@launch_required(roles=ADMIN)
def hr_roster(request: HttpRequest) -> HttpResponse:
    """Upload an HR roster CSV; it is merged whole or rejected with every broken line."""
    launch = launch_of(request)
    deployment = selectors.deployment_of(launch)
    result, error = None, ""
    if request.method == "POST":
        upload = request.FILES.get("roster")
        if upload is None:
            error = "Choose a CSV file to upload."
        elif (upload.size or 0) > MAX_BYTES:
            error = f"The file is over {MAX_BYTES >> 20} MB."
        else:
            result = import_hr_roster(
                deployment=deployment,
                data=upload.read(),
                filename=upload.name or "roster.csv",
                by=f"person:{launch.person_id}",
            )
    rejected = result is not None and result.status == HrRosterImport.Status.REJECTED
    recent = HrRosterImport.objects.filter(deployment=deployment).order_by("-created_at")[:10]
    return render(
        request,
        "reports/hr_roster.html",
        {"result": result, "error": error, "recent": recent},
        status=400 if error or rejected else 200,
    )


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


@launch_required(roles=ADMIN)
def audit_export(request: HttpRequest) -> HttpResponse:
    """The deployment's audit entries in a date range (UTC days, inclusive) as CSV."""
    launch = launch_of(request)
    since, until = _day(request.GET.get("since")), _day(request.GET.get("until"))
    asked = "since" in request.GET or "until" in request.GET
    if since is None or until is None or until < since:
        today = timezone.now().astimezone(UTC).date()
        context = {
            "since": request.GET.get("since") or today.replace(day=1).isoformat(),
            "until": request.GET.get("until") or today.isoformat(),
            "error": asked,
        }
        return render(request, "reports/audit.html", context, status=400 if asked else 200)
    lines = sel.audit_lines(deployment_id=launch.deployment_id, since=since, until=until)
    response = StreamingHttpResponse(audit_csv(lines), content_type="text/csv; charset=utf-8")
    name = f"audit-{launch.deployment_id}-{since}-{until}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    # Streamed so a long range is never held in memory; `launch_required` types its views as
    # returning HttpResponse, and a StreamingHttpResponse passes through it unchanged.
    return response  # type: ignore[return-value]


AUDIT_HEADERS = (
    "id",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "deployment_id",
    "data",
    "prev_hash",
    "hash",
    "follows_previous_row",
)


def audit_csv(lines: Iterable[sel.AuditLine]) -> Iterator[str]:
    """CSV text, a chunk per entry, values as hashed (no formula quoting, so they re-verify).

    `data` is canonical JSON (sorted keys, no spaces). `follows_previous_row` is true when the
    entry's previous hash is the row above's hash; where it is false, entries of other tenants
    (or outside the range) sit between the two in the one chain.
    """
    out = io.StringIO()
    writer = csv.writer(out)

    def flush() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow(AUDIT_HEADERS)
    yield flush()
    previous = ""
    for line in lines:
        writer.writerow(
            [
                line.id,
                line.at,
                line.actor,
                line.action,
                line.object_type,
                line.object_id,
                "" if line.deployment_id is None else line.deployment_id,
                json.dumps(line.data, sort_keys=True, separators=(",", ":")),
                line.prev_hash,
                line.hash,
                "true" if previous and line.prev_hash == previous else "false",
            ]
        )
        previous = line.hash
        yield flush()
