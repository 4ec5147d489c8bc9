"""The weekly cohort risk report: what it says, who gets it, once per week, really delivered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from completion.models import RiskScore
from completion.reports.selectors import PastCohorts
from completion.risk.scoring import score_course
from interventions.delivery.outbox import dispatch_due
from interventions.measurement.outcomes import RecoveryRow
from interventions.models import ContactPreference, Intervention, OutboundMessage
from interventions.reports.tasks import weekly_reports
from interventions.reports.weekly import (
    DaySnapshot,
    WeeklySummary,
    iso_week,
    render_text,
    send_weekly_reports,
)
from tests.completion.riskdata import add, day, enrol, make_course

NOW = day(14, hour=6)  # Monday 19 January 2026, 06:00 UTC: ISO week 2026-W04


def staff(course, sub, role, *, email=True, status="active"):
    membership = enrol(course, sub, role=role)
    membership.person.email = f"{sub}@example.com" if email else ""
    membership.person.save()
    membership.status = status
    membership.save()
    return membership


def intervention(course, membership, *, sent_at, back_48h, back_7d):
    return Intervention.objects.create(
        membership=membership,
        course=course,
        playbook="absence",
        step="nudge",
        episode=f"e{membership.pk}",
        channels=["email"],
        status=Intervention.Status.SENT,
        planned_at=sent_at,
        send_at=sent_at,
        reengaged_48h=back_48h,
        reengaged_7d=back_7d,
    )


@pytest.fixture
def cohort(db):
    course, items = make_course()
    course.title = "Safety 101"
    course.save()
    tracked = items[:4]
    ada, bob, cara = (enrol(course, n) for n in ("ada", "bob", "cara"))
    for n in range(9):
        add(course, bob, "viewed", day(n), item=items[0], seconds=300)
    for k, item in enumerate(tracked):
        add(course, ada, "completed", day(2 + 2 * k), item=item, seconds=900)
    score_course(course.pk, as_of=day(6).date())
    score_course(course.pk, as_of=day(13).date())
    intervention(course, bob, sent_at=NOW - timedelta(days=3), back_48h=True, back_7d=None)
    intervention(course, cara, sent_at=NOW - timedelta(days=10), back_48h=False, back_7d=False)
    recipients = [staff(course, "ivy", "instructor"), staff(course, "al", "advisor")]
    staff(course, "tim", "ta")
    staff(course, "nomail", "instructor", email=False)
    staff(course, "gone", "instructor", status="inactive")
    opted_out = staff(course, "ola", "instructor")
    ContactPreference.objects.create(person=opted_out.person, email_opt_out=True)
    # An earlier, finished cohort of the same deployment: 3 of 4 completed.
    past, past_items = make_course(deployment=course.deployment)
    for n in range(4):
        learner = enrol(past, f"past{n}")
        for item in past_items[:4] if n < 3 else past_items[:1]:
            add(past, learner, "completed", day(1), item=item, seconds=900)
    score_course(past.pk, as_of=day(3).date())
    past.retired_at = day(4)
    past.save()
    staff(past, "old-teacher", "instructor")  # a retired course gets no report
    # Another tenant's course has its own report, never this one's figures.
    return {"course": course, "recipients": recipients}


def test_the_body_reads_tiers_completions_recovery_and_the_projection():
    summary = WeeklySummary(
        course="Safety 101",
        week="2026-W04",
        learners=10,
        now=DaySnapshot(date(2026, 1, 18), {"red": 3, "yellow": 2, "green": 5}, 4),
        week_ago=DaySnapshot(date(2026, 1, 11), {"red": 1, "yellow": 4, "green": 5}, 1),
        sent_this_week=6,
        recovery=[RecoveryRow("nudge", "email", 1, 8, 3, 6, 4, 5)],
        expected_completions=6.4,
        past=PastCohorts(courses=2, learners=40, completed=30),
    )
    text = render_text(summary)
    assert "- Red: 3 (a week ago 1, +2)" in text
    assert "- Yellow: 2 (a week ago 4, -2)" in text
    assert "Completions: 4 of 10 learners (+3 this week)" in text
    assert "Interventions sent this week: 6 (8 in all)." in text
    assert "back within 48 hours: 3 of 6 measured (50%); within 7 days: 4 of 5 (80%)" in text
    assert "expect about 6 of 10 learners to complete (64%)" in text
    assert "30 of 40 learners completed (75%); at that rate about 8 of this cohort's 10" in text
    assert iso_week(datetime(2026, 1, 19, 6, tzinfo=UTC)) == "2026-W04"


def test_one_email_per_instructor_and_advisor_per_course_per_week(cohort):
    course = cohort["course"]
    assert send_weekly_reports(now=NOW) == 2
    assert send_weekly_reports(now=NOW + timedelta(days=2)) == 0  # the same ISO week
    queued = OutboundMessage.objects.filter(reason="weekly_report").order_by("to_address")
    assert [m.to_address for m in queued] == ["al@example.com", "ivy@example.com"]
    ivy = cohort["recipients"][0]
    assert (
        OutboundMessage.objects.get(
            idempotency_key=f"weekly-report:{ivy.person_id}:{course.pk}:2026-W04"
        ).membership_id
        == ivy.pk
    )
    assert send_weekly_reports(now=NOW + timedelta(days=7)) == 2  # next week, new emails


def test_the_reports_are_delivered_over_smtp_with_this_weeks_figures(cohort, smtp_server):
    course = cohort["course"]
    assert send_weekly_reports(now=NOW) == 2
    assert dispatch_due().sent == 2
    received = {m["To"]: m for m in smtp_server.mailbox.messages}
    assert set(received) == {"ivy@example.com", "al@example.com"}
    message = received["ivy@example.com"]
    assert message["Subject"] == "Safety 101: weekly risk report, 2026-W04"
    text = next(
        p.get_payload(decode=True).decode()
        for p in message.walk()
        if p.get_content_type() == "text/plain"
    )
    tiers_now = dict(
        RiskScore.objects.filter(course=course, as_of=day(13).date()).values_list(
            "membership__person__sub", "tier"
        )
    )
    red = sum(1 for t in tiers_now.values() if t == "red")
    assert f"- Red: {red} (a week ago" in text
    assert "(18 Jan 2026; a week ago 11 Jan 2026)" in text
    assert "Completions: 1 of 3 learners (+1 this week)" in text
    assert "Interventions sent this week: 1 (2 in all)." in text
    assert "back within 48 hours: 1 of 2 measured (50%); within 7 days: 0 of 1 (0%)" in text
    assert "In 1 earlier finished cohort(s) of this deployment, 3 of 4 learners completed" in text
    assert "about 2 of this cohort's 3 would" in text
    assert OutboundMessage.objects.filter(reason="weekly_report", status="sent").count() == 2
    assert dispatch_due().sent == 0


def test_the_scheduled_task_uses_the_current_week(cohort):
    assert weekly_reports() == 2
    week = iso_week(timezone.now())
    assert all(
        m.idempotency_key.endswith(week)
        for m in OutboundMessage.objects.filter(reason="weekly_report")
    )
