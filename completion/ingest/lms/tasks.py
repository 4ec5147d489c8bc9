"""django-q2 entry points of the engagement-data syncs (one task per course)."""

from __future__ import annotations

from typing import Any

from django_q.tasks import async_task

from completion.ingest.lms.sync import sync_course_grades, sync_course_roster
from lti_tool.models import Course


def sync_all_courses() -> int:
    """Enqueue a roster and a grades sync for each course that advertised the services."""
    courses = Course.objects.filter(retired_at__isnull=True)
    count = 0
    for course_id, nrps, ags in courses.values_list("pk", "nrps_url", "ags_lineitems_url"):
        if nrps:
            async_task("completion.ingest.lms.tasks.roster", course_id)
        if ags:
            async_task("completion.ingest.lms.tasks.grades", course_id)
        count += 1
    return count


def roster(course_id: int) -> dict[str, Any]:
    return sync_course_roster(course_id)


def grades(course_id: int) -> dict[str, Any]:
    return sync_course_grades(course_id)
