"""Receivers of lti_tool's upward signals: each is one service call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from completion.events.store import match_pending, record_launch_event
from completion.ingest.lms.freshness import request_roster_refresh
from completion.learner.progress import register_privacy_sections
from completion.models import PendingActivity
from completion.outcomes import withdrawals_from_roster
from lti_tool.models import Course, Deployment, Membership
from lti_tool.signals import launch_recorded, roster_changed


@receiver(launch_recorded)
def record_launch_activity(
    *,
    membership: Membership,
    membership_created: bool,
    resource_link_id: str,
    resource_link_title: str,
    occurred_at: datetime,
    nonce: str,
    **_: Any,
) -> None:
    """The launch as an event, from the membership the launch just recorded (no re-read)."""
    record_launch_event(
        membership=membership,
        resource_link_id=resource_link_id,
        resource_link_title=resource_link_title,
        occurred_at=occurred_at,
        nonce=nonce,
    )
    # A new member may be the first sign of this person or course: events waiting for them
    # can now land. (A member launching again was already known when those events came.)
    if membership_created:
        deployment = membership.course.deployment
        if PendingActivity.objects.filter(deployment=deployment).exists():
            match_pending(deployment=deployment)


@receiver(launch_recorded)
def refresh_roster_on_staff_launch(*, membership: Membership, **_: Any) -> None:
    """A staff launch asks for a background NRPS sync of its course, at most once per
    ROSTER_SYNC_ON_LAUNCH_MINUTES, so the roster a new course shows is never a day old."""
    request_roster_refresh(membership)


@receiver(roster_changed)
def match_after_roster_change(*, deployment_id: int, **_: Any) -> None:
    match_pending(deployment=Deployment.objects.get(pk=deployment_id))


@receiver(roster_changed)
def withdraw_after_roster_change(*, course_id: int, **_: Any) -> None:
    """Learners the roster now lists as Inactive or Deleted have withdrawn (an outcome)."""
    withdrawals_from_roster(Course.objects.get(pk=course_id))


# The learner's "my data" export includes completion's records (lti_tool.audit.privacy).
register_privacy_sections()
