"""Compliance reports as files, and their scheduled delivery by email.

`report_file` makes the CSV, XLSX or PDF bytes the page downloads and the email attaches.
`schedule_report` and `cancel_schedule` are the staff's services (audited);
`send_due_reports` (daily, `completion.reports.tasks.send_scheduled_reports`) emails each due
schedule's report and moves its next date on, so a schedule is sent once per period even when
the task runs twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from completion.models import ReportSchedule
from completion.reports import compliance as reports
from completion.reports import selectors as sel
from lti_tool.audit.trail import append_audit
from lti_tool.models import Course, Deployment
from lti_tool.pdf import html_to_pdf

PDF_MAX_ROWS = 5000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX, "pdf": "application/pdf"}
MAX_RECIPIENTS = 20


class ScheduleRefused(ValueError):
    """A schedule that cannot be made as asked."""


@dataclass(frozen=True)
class ReportFile:
    name: str
    content: bytes
    content_type: str


def report_file(report: reports.ComplianceReport, fmt: str) -> ReportFile:
    name = f"compliance-{slugify(report.title) or 'report'}-{report.generated_at:%Y-%m-%d}.{fmt}"
    if fmt == "csv":
        # A byte-order mark so spreadsheet programs read the file as UTF-8.
        content = ("\ufeff" + reports.to_csv(report)).encode("utf-8")
    elif fmt == "xlsx":
        content = reports.to_xlsx(report)
    else:
        html = render_to_string(
            "reports/compliance_pdf.html",
            {"report": report, "rows": report.rows[:PDF_MAX_ROWS], "limit": PDF_MAX_ROWS},
        )
        content = html_to_pdf(html)
    return ReportFile(name, content, CONTENT_TYPES[fmt])


def _recipients(text: str) -> list[str]:
    found = [a.strip() for a in text.replace(";", ",").split(",") if a.strip()]
    if not found or len(found) > MAX_RECIPIENTS:
        raise ScheduleRefused(f"Give 1 to {MAX_RECIPIENTS} email addresses, separated by commas.")
    for address in found:
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ScheduleRefused(f"{address!r} is not an email address.") from exc
    return found


@transaction.atomic
def schedule_report(
    *,
    deployment: Deployment,
    course: Course | None,
    recipients: str,
    fmt: str,
    every_days: int,
    by: str,
    today: date | None = None,
) -> ReportSchedule:
    """Email the compliance report every `every_days` days, starting today. Audited."""
    if fmt not in ReportSchedule.Format.values:
        raise ScheduleRefused("Choose CSV, XLSX or PDF.")
    if every_days not in (1, 7, 30):
        raise ScheduleRefused("Choose daily, weekly or monthly.")
    row = ReportSchedule.objects.create(
        deployment=deployment, course=course, recipients=", ".join(_recipients(recipients)),
        format=fmt, every_days=every_days, next_send_on=today or timezone.localdate(),
        created_by=by,
    )  # fmt: skip
    append_audit(actor=by, action="completion.report_scheduled", obj=row, deployment=deployment,
                 data={"course": course.pk if course else None, "format": fmt,
                       "every_days": every_days, "recipients": row.recipients})  # fmt: skip
    return row


@transaction.atomic
def cancel_schedule(schedule: ReportSchedule, *, by: str) -> None:
    append_audit(
        actor=by,
        action="completion.report_unscheduled",
        obj=schedule,
        deployment=schedule.deployment,
        data={"recipients": schedule.recipients},
    )
    schedule.delete()


def send_due_reports(*, now: datetime | None = None) -> int:
    """Email every schedule due today (or missed); returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for schedule_id in ReportSchedule.objects.filter(next_send_on__lte=now.date()).values_list(
        "pk", flat=True
    ):
        sent += _send_one(schedule_id, now)
    return sent


@transaction.atomic
def _send_one(schedule_id: int, now: datetime) -> int:
    schedule = (
        ReportSchedule.objects.select_for_update(of=("self",))
        .select_related("course", "deployment")
        .filter(pk=schedule_id, next_send_on__lte=now.date())
        .first()
    )
    if schedule is None:
        return 0  # another worker sent it
    courses = (
        [schedule.course]
        if schedule.course
        else list(Course.objects.filter(deployment=schedule.deployment, retired_at__isnull=True))
    )
    title = schedule.course.title if schedule.course else "All courses"
    report = sel.compliance_report(
        courses, filters=reports.ReportFilters(), title=title or "Course", now=now
    )
    attached = report_file(report, schedule.format)
    mail = EmailMessage(
        subject=f"Compliance report: {title} ({now:%-d %B %Y})",
        body=(
            f"The compliance report for {title}, {len(report.rows)} learners, "
            f"{report.total.compliant_percent:.0f}% compliant, is attached ({attached.name}).\n\n"
            "Every learner's status, completion date, score, certificate id, expiry and "
            "instructor are in the file."
        ),
        to=schedule.recipients.split(", "),
    )
    mail.attach(attached.name, attached.content, attached.content_type)
    mail.send()
    schedule.last_sent_at = now
    schedule.next_send_on = now.date() + timedelta(days=schedule.every_days)
    schedule.save(update_fields=["last_sent_at", "next_send_on"])
    return 1
