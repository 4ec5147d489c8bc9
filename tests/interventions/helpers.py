"""Shared set-up for the interventions tests: a course, enrolments, events."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from completion.data import ActorRef, EngagementEvent
from completion.events.store import store_events
from lti_tool.models import Course, Deployment, MembershipChange
from lti_tool.services import upsert_membership, upsert_person

_ids = itertools.count()

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def make_course(platform):
    deployment = Deployment.objects.get()
    return Course.objects.create(deployment=deployment, context_id="c1", title="Safety 101")


def enrol(course, sub, *, role="learner", days_ago=10, **person):
    p = upsert_person(
        deployment=course.deployment,
        sub=sub,
        name=person.pop("name", f"Pat {sub}"),
        email=person.pop("email", f"{sub}@example.edu"),
    )
    return upsert_membership(
        course=course,
        person=p,
        role=role,
        lti_roles=[],
        status="active",
        at=NOW - timedelta(days=days_ago),
        source=MembershipChange.Source.ADMIN,
    )


def act(course, membership, verb, at, item="module-1", title="Module 1"):
    n = next(_ids)
    store_events(
        deployment=course.deployment,
        events=[
            EngagementEvent(
                actor=ActorRef(sub=membership.person.sub),
                course_key=course.context_id,
                verb=verb,
                occurred_at=at,
                source="import",
                source_id=f"e{n}",
                item_id=item,
                item_title=title,
                item_kind="assessment",
            )
        ],
    )
