"""Small hand-made courses for the risk engine's tests (no cohort generator needed)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from completion.models import Activity, Item
from completion.risk.facts import EventRow
from lti_tool.models import Course, Deployment, Membership, Person, Platform

_seq = itertools.count(1)
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday


def make_course(
    *,
    items=(
        ("page", "Intro"),
        ("page", "Reading"),
        ("video", "Lecture"),
        ("assessment", "Module 4 quiz"),
        ("forum", "Forum"),
    ),
    context_id=None,
    deployment=None,
):
    if deployment is None:
        n = next(_seq)
        platform = Platform.objects.create(
            issuer=f"https://lms{n}.test",
            client_id="c",
            auth_login_url="https://lms.test/a",
            auth_token_url="https://lms.test/t",
            jwks_url="https://lms.test/j",
        )
        deployment = Deployment.objects.create(platform=platform, deployment_id="d")
    course = Course.objects.create(
        deployment=deployment, context_id=context_id or f"ctx-{next(_seq)}", title="Course"
    )
    made = [
        Item.objects.create(
            course=course, external_id=f"item-{k}", kind=kind, title=title, source="api", position=k
        )
        for k, (kind, title) in enumerate(items)
    ]
    return course, made


def enrol(course, sub, *, at=START, role="learner", person=None):
    person = person or Person.objects.create(deployment=course.deployment, sub=sub, name=sub)
    return Membership.objects.create(
        course=course, person=person, role=role, enrolled_at=at, status_changed_at=at
    )


def add(course, membership, verb, at, *, item=None, seconds=None, score=None, success=None):
    return Activity.objects.create(
        course=course,
        person_id=membership.person_id,
        item=item,
        verb=verb,
        occurred_at=at,
        received_at=at,
        duration_seconds=seconds,
        score=score,
        success=success,
        source="api",
        source_id=f"e{next(_seq)}",
    )


def rows_of(course):
    return [
        EventRow(
            a.person_id,
            a.item_id,
            a.verb,
            a.occurred_at,
            a.duration_seconds,
            a.score,
            a.success,
            a.count,
        )
        for a in Activity.objects.filter(course=course)
    ]


def day(n, hour=10):
    return START.replace(hour=hour) + timedelta(days=n)
