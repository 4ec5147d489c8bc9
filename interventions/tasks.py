"""django-q2 entry points of the interventions app: plan, dispatch, measure."""

from __future__ import annotations

from django.utils import timezone
from django_q.tasks import async_task

from interventions.delivery.digest import send_case_digests, send_daily_digests
from interventions.delivery.outbox import dispatch_due
from interventions.learners.deadlines import send_deadline_reminders
from interventions.measurement.outcomes import measure_outcomes
from interventions.planning.bulk import deliver_bulk_message, purge_stale_drafts
from interventions.planning.planner import plan_course
from lti_tool.models import Course


def plan_all_courses() -> int:
    """Enqueue one planning task per course (never one per learner)."""
    ids = list(Course.objects.filter(retired_at__isnull=True).values_list("pk", flat=True))
    for course_id in ids:
        async_task("interventions.tasks.plan_course_task", course_id)
    return len(ids)


def plan_course_task(course_id: int) -> dict[str, int]:
    summary = plan_course(course_id=course_id)
    return {
        status: summary.count(status)
        for status in ("sent", "scheduled", "suppressed", "superseded", "holdout")
    }


def dispatch_outbox(limit: int = 200) -> dict[str, int]:
    result = dispatch_due(limit=limit)
    return {"sent": result.sent, "retried": result.retried, "failed": result.failed}


def measure_intervention_outcomes() -> int:
    return measure_outcomes()


def daily_digests() -> int:
    """The staff's chosen daily digests, and each case owner's digest of cases over the cap."""
    return send_daily_digests() + send_case_digests()


def deadline_reminders() -> int:
    return send_deadline_reminders()


def deliver_bulk(bulk_id: int) -> int:
    """A large "Message these N learners": each learner's copy decided and queued."""
    return deliver_bulk_message(bulk_id).queued


def purge_bulk_drafts() -> int:
    """Unsent "Message these N learners" previews older than a day (hourly)."""
    return purge_stale_drafts(now=timezone.now())
