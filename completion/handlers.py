"""Receivers of lti_tool's upward signals: each is one service call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.dispatch import receiver

from completion.data import ActorRef, EngagementEvent
from completion.events import match_pending, store_events
from lti_tool.models import Deployment, Membership
from lti_tool.signals import launch_recorded, roster_changed


@receiver(launch_recorded)
def record_launch_activity(
    *,
    membership_id: int,
    resource_link_id: str,
    resource_link_title: str,
    occurred_at: datetime,
    nonce: str,
    **_: Any,
) -> None:
    membership = Membership.objects.select_related("course__deployment", "person").get(
        pk=membership_id
    )
    store_events(
        deployment=membership.course.deployment,
        events=[
            EngagementEvent(
                actor=ActorRef(sub=membership.person.sub),
                course_key=membership.course.context_id,
                verb="launched",
                occurred_at=occurred_at,
                source="lti",
                source_id=nonce or str(occurred_at),
                item_id=resource_link_id,
                item_kind="link" if resource_link_id else "",
                item_title=resource_link_title,
            )
        ],
    )
    # A launch may be the first sign of this person: events waiting for them can now land.
    match_pending(deployment=membership.course.deployment)


@receiver(roster_changed)
def match_after_roster_change(*, deployment_id: int, **_: Any) -> None:
    match_pending(deployment=Deployment.objects.get(pk=deployment_id))
