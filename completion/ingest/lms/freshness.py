"""A fresh roster on a staff launch: enqueue the course's NRPS sync in the background (the
launch never waits for it), at most once per `ROSTER_SYNC_ON_LAUNCH_MINUTES` per course.
The throttle is a cache key added atomically, so concurrent launches enqueue one sync."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django_q.tasks import async_task

from lti_tool.models import Membership, Role

STAFF = {Role.INSTRUCTOR, Role.TEACHING_ASSISTANT, Role.ADMIN, Role.ADVISOR}


def request_roster_refresh(membership: Membership) -> bool:
    """True when a sync was enqueued for the membership's course."""
    minutes = settings.FINISHLINE.get("ROSTER_SYNC_ON_LAUNCH_MINUTES", 15)
    if minutes <= 0 or membership.role not in STAFF:
        return False  # a learner's launch reads nothing more
    course = membership.course
    if not course.nrps_url:
        return False
    if not cache.add(f"roster-on-launch:{course.pk}", 1, timeout=minutes * 60):
        return False
    course_id = course.pk
    transaction.on_commit(lambda: async_task("completion.ingest.lms.tasks.roster", course_id))
    return True
