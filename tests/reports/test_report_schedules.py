"""Compliance reports scheduled from the report page and emailed with the file attached."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from django.core import mail
from django.test import Client
from django.utils import timezone

from completion.models import ReportSchedule
from completion.reports import tasks
from completion.reports.delivery import send_due_reports
from lti_tool.models import AuditEntry
from tests.reports.test_compliance import URL, token, world  # noqa: F401  (the fixture)


def test_staff_schedule_the_report_and_it_is_emailed_once_per_period(world):  # noqa: F811
    lt = token(world["course"], world["teacher"], "instructor")
    bad = Client().post(URL, {"lt": lt, "action": "schedule", "recipients": "not-an-address",
                              "fmt": "csv", "every_days": "7"})  # fmt: skip
    assert bad.status_code == 400
    answer = Client().post(URL, {"lt": lt, "action": "schedule", "fmt": "csv", "every_days": "7",
                                 "recipients": "hse@example.com, audit@example.com"})  # fmt: skip
    assert "will be emailed to hse@example.com, audit@example.com" in answer.content.decode()
    assert AuditEntry.objects.filter(action="completion.report_scheduled").exists()
    now = timezone.now()
    assert send_due_reports(now=now) == 1
    assert send_due_reports(now=now) == 0  # not twice in one period
    (sent,) = mail.outbox
    assert sent.to == ["hse@example.com", "audit@example.com"]
    name, content, content_type = sent.attachments[0]
    assert name.endswith(".csv")
    assert content_type.startswith("text/csv")
    text = content if isinstance(content, str) else content.decode("utf-8")  # mail decodes text
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert {"Compliance", "Completed on", "Score", "Certificate id", "Expires on",
            "Instructor"} <= set(rows[0])  # fmt: skip
    assert {r["Learner"] for r in rows} >= {"ada", "bob"}
    assert send_due_reports(now=now + timedelta(days=7)) == 1
    assert tasks.send_scheduled_reports() == 0  # the real clock: sent for this week already
    schedule = ReportSchedule.objects.get()
    Client().post(URL, {"lt": lt, "action": "cancel", "schedule": schedule.pk})
    assert not ReportSchedule.objects.exists()


def test_a_scheduled_pdf_arrives_as_a_pdf(world):  # noqa: F811
    lt = token(world["course"], world["teacher"], "instructor")
    Client().post(URL, {"lt": lt, "action": "schedule", "fmt": "pdf", "every_days": "30",
                        "recipients": "hse@example.com"})  # fmt: skip
    send_due_reports(now=timezone.now())
    name, content, _ = mail.outbox[0].attachments[0]
    assert name.endswith(".pdf")
    assert content.startswith(b"%PDF")
