"""Background syncs of a course from its platform, with their health recorded.

`sync_course_roster` wraps the NRPS roster sync; `sync_course_grades` reads the course's AGS
line items and results into items and events (stored once however often it runs); a line
item tagged as the final grade also records each graded learner's outcome
(`completion.outcomes`). Each run updates `CourseSync` (last start, success, counts, last
error) for the admin page; a failure is recorded and re-raised so the job queue retries later.
Nothing half-applied is kept: roster changes are one transaction, and grade events are
idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from completion.data import ActorRef, EngagementEvent, StoreResult
from completion.events.store import store_events
from completion.models import CourseSync, Item
from completion.outcomes import is_final_lineitem, outcomes_from_final_grade
from lti_tool.models import Course
from lti_tool.platform_services import client as lti_services
from lti_tool.platform_services.client import RetryPolicy
from lti_tool.platform_services.roster import sync_roster

TOOL_LINEITEM_TAG = "finishline-completion"


def _tracked(
    course: Course, kind: str, work: Callable[[CourseSync], dict[str, Any]]
) -> dict[str, Any]:
    sync, _ = CourseSync.objects.get_or_create(course=course, kind=kind)
    CourseSync.objects.filter(pk=sync.pk).update(last_started_at=timezone.now())
    try:
        counts = work(sync)
    except Exception as exc:
        CourseSync.objects.filter(pk=sync.pk).update(
            last_error=f"{type(exc).__name__}: {exc}"[:2000], last_error_at=timezone.now()
        )
        raise
    CourseSync.objects.filter(pk=sync.pk).update(
        last_success_at=timezone.now(), counts=counts, last_error=""
    )
    return counts


def sync_course_roster(course_id: int, *, policy: RetryPolicy | None = None) -> dict[str, Any]:
    course = Course.objects.select_related("deployment__platform").get(pk=course_id)

    def work(sync: CourseSync) -> dict[str, Any]:
        result = sync_roster(course, differences_url=sync.differences_url, policy=policy)
        CourseSync.objects.filter(pk=sync.pk).update(differences_url=result.differences_url)
        return {
            "members": result.members,
            "added": result.added,
            "changed": result.changed,
            "removed": result.removed,
            "incremental": result.incremental,
        }

    return _tracked(course, CourseSync.Kind.ROSTER, work)


def sync_course_grades(course_id: int, *, policy: RetryPolicy | None = None) -> dict[str, Any]:
    course = Course.objects.select_related("deployment__platform").get(pk=course_id)

    def work(sync: CourseSync) -> dict[str, Any]:
        lineitems = lti_services.list_lineitems(course, policy)
        total = StoreResult()
        outcomes = 0
        for lineitem in lineitems:
            item = _upsert_item(course, lineitem)
            results = lti_services.list_results(course, item.ags_lineitem_url, policy)
            events = [_event(course, item, r) for r in results]
            total = total + store_events(deployment=course.deployment, events=events)
            if is_final_lineitem(lineitem):
                outcomes += outcomes_from_final_grade(
                    item,
                    {
                        e.actor.sub: (e.score, timezone.localdate(e.occurred_at))
                        for e in events
                        if e.score is not None and e.actor.sub
                    },
                )
        return {
            "lineitems": len(lineitems),
            "outcomes": outcomes,
            "stored": total.stored,
            "duplicate": total.duplicate,
            "pending": total.pending,
        }

    return _tracked(course, CourseSync.Kind.GRADES, work)


def _upsert_item(course: Course, lineitem: dict[str, Any]) -> Item:
    url = str(lineitem["id"])
    due = (
        parse_datetime(str(lineitem.get("endDateTime") or ""))
        if lineitem.get("endDateTime")
        else None
    )
    values = {
        "kind": Item.Kind.ASSESSMENT,
        "title": str(lineitem.get("label", ""))[:500],
        "source": "ags",
        "score_maximum": lineitem.get("scoreMaximum"),
        "due_at": due,
        "ags_lineitem_url": url,
        "is_tool_lineitem": lineitem.get("tag") == TOOL_LINEITEM_TAG,
    }
    item, _ = Item.objects.update_or_create(course=course, external_id=url, defaults=values)
    return item


def _event(course: Course, item: Item, result: dict[str, Any]) -> EngagementEvent:
    given, maximum = result.get("resultScore"), result.get("resultMaximum") or item.score_maximum
    score = float(given) / float(maximum) if given is not None and maximum else None
    stamp = parse_datetime(str(result.get("timestamp") or "")) if result.get("timestamp") else None
    occurred: datetime = stamp or timezone.now()
    return EngagementEvent(
        actor=ActorRef(sub=str(result.get("userId", ""))),
        course_key=course.context_id,
        verb="submitted",
        occurred_at=occurred,
        source="ags",
        source_id=str(result.get("id") or f"{item.ags_lineitem_url}|{result.get('userId')}"),
        item_id=item.external_id,
        item_kind=item.kind,
        item_title=item.title,
        score=score,
    )


def ensure_tool_lineitem(course: Course, *, policy: RetryPolicy | None = None) -> Item:
    """Finishline's own line item (completion write-back), created once per course."""
    existing = Item.objects.filter(course=course, is_tool_lineitem=True).first()
    if existing is not None:
        return existing
    for lineitem in lti_services.list_lineitems(course, policy):
        if lineitem.get("tag") == TOOL_LINEITEM_TAG:
            return _upsert_item(course, lineitem)
    created = lti_services.create_lineitem(
        course,
        {
            "label": "Course completion (Finishline)",
            "scoreMaximum": 100,
            "tag": TOOL_LINEITEM_TAG,
            "resourceId": "finishline-completion",
        },
        policy,
    )
    return _upsert_item(course, {"tag": TOOL_LINEITEM_TAG, **created})


def post_completion_score(
    *,
    course: Course,
    user_id: str,
    score: float,
    completed: bool,
    timestamp: datetime,
    policy: RetryPolicy | None = None,
) -> None:
    """Write a learner's completion to the gradebook (score 0..100)."""
    item = ensure_tool_lineitem(course, policy=policy)
    lti_services.post_score(
        course,
        item.ags_lineitem_url,
        {
            "userId": user_id,
            "scoreGiven": round(score, 2),
            "scoreMaximum": 100,
            "activityProgress": "Completed" if completed else "InProgress",
            "gradingProgress": "FullyGraded" if completed else "Pending",
            "timestamp": timestamp.isoformat(),
        },
        policy,
    )
