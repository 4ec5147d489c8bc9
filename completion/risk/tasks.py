"""Risk jobs: incremental re-scoring within minutes, and a full nightly pass per course.

Plain functions taking ids or ISO dates. Work is batched per course (one task per course, never
one per learner); every task is idempotent and safe with two workers at once, because scoring
stores one row per (membership, day) under a per-course lock. Their schedules are in
`config/schedules.py`.
"""

from __future__ import annotations

from datetime import date

from django_q.tasks import async_task

from completion.events import tally
from completion.models import Activity, ScoringRun
from completion.risk.scoring import ScoringSummary, changed_memberships, score_course, today
from lti_tool.models import Course, Role


def _day(as_of: str | None) -> date:
    return date.fromisoformat(as_of) if as_of else today()


def score_course_full(course_id: int, as_of: str | None = None) -> ScoringSummary:
    """Score every learner of one course for a day (default today)."""
    return score_course(course_id, as_of=_day(as_of))


def rescore_learners(
    course_id: int, membership_ids: list[int] | None = None, as_of: str | None = None
) -> ScoringSummary:
    """Re-score some learners of a course (all when None) for a day (default today)."""
    return score_course(course_id, as_of=_day(as_of), membership_ids=membership_ids)


def rescore_changed(course_id: int, as_of: str | None = None) -> ScoringSummary | None:
    """Re-score the learners of one course with events newer than the day's last scoring."""
    day = _day(as_of)
    ids = changed_memberships(Course.objects.get(pk=course_id), day)
    if ids is None:
        return score_course(course_id, as_of=day)
    if not ids:
        return None
    return score_course(course_id, as_of=day, membership_ids=ids)


def courses_with_new_events(as_of: date) -> list[int]:
    """Courses with events past their watermark for the day, or with no scoring yet today."""
    runs = dict(ScoringRun.objects.filter(as_of=as_of).values_list("course_id", "last_activity_id"))
    low = min(runs.values(), default=0)
    fresh = set(Activity.objects.filter(id__gt=low).values_list("course_id", flat=True).distinct())
    found = []
    for course_id in sorted(fresh):
        mark = runs.get(course_id)
        if mark is None or Activity.objects.filter(course_id=course_id, id__gt=mark).exists():
            found.append(course_id)
    return found


def rescore_changed_courses(as_of: str | None = None) -> int:
    """Enqueue one incremental task per course with new events; returns how many."""
    day = _day(as_of)
    courses = courses_with_new_events(day)
    for course_id in courses:
        async_task("completion.risk.tasks.rescore_changed", course_id, day.isoformat())
    return len(courses)


def nightly_pass(as_of: str | None = None) -> int:
    """Enqueue one full pass per live course with learners; returns how many. First fold
    every course's event tally, those no pass scores included (retired, without learners)."""
    day = _day(as_of)
    tally.fold()
    courses = list(
        Course.objects.filter(retired_at__isnull=True, memberships__role=Role.LEARNER)
        .values_list("pk", flat=True)
        .distinct()
    )
    for course_id in courses:
        async_task("completion.risk.tasks.score_course_full", course_id, day.isoformat())
    return len(courses)
