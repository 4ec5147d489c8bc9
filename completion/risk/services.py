"""Writes around the risk engine that people make: criteria, overrides, pauses, accommodations.

Each change of consequence is written to the audit trail in the same transaction, and the
learners it affects are re-scored after commit (by dotted path, so tasks and services do not
import each other). Scoring itself is `scoring.score_course`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from completion.models import (
    Accommodation,
    CompletionCriteria,
    Pause,
    Progress,
    ScheduleRevision,
    StatusOverride,
    TrainedRiskModel,
)
from completion.progress import criteria as crit
from completion.progress import criteria_check as check
from completion.risk.model import TrainedArtefact
from completion.risk.rules import RulesConfig
from completion.risk.selectors import catalogue_of
from lti_tool.audit.trail import append_audit
from lti_tool.models import Course, Deployment, Membership

CRITERIA_FIELDS = (
    "required_item_ids",
    "min_content_share",
    "min_overall_score",
    "min_item_scores",
    "required_submission_ids",
    "min_time_minutes",
    "due_on",
    "due_days_after_enrolment",
    "reminder_days",
    "item_prerequisites",
    "item_due_dates",
    "prerequisite_course_ids",
    "status_labels",
    "timeline",
    "starts_on",
    "ends_on",
    "duration_days",
    "skip_weekends",
    "blackout_dates",
    "anchors",
    "rule_settings",
    "risk_model",
)


class InvalidCriteria(ValueError):
    """The criteria given cannot be saved; the message says why in plain words, and
    `problems` says it per field (for a page to show each next to its field)."""

    def __init__(self, message: str, problems: tuple[check.Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems or (check.Problem("", message),)


def _enqueue_rescore(course_id: int, membership_ids: list[int] | None) -> None:
    transaction.on_commit(
        lambda: async_task("completion.risk.tasks.rescore_learners", course_id, membership_ids)
    )


@transaction.atomic
def update_criteria(*, course: Course, values: Mapping[str, Any], by: str) -> CompletionCriteria:
    """Save a course's criteria (only the keys given change), audit, and re-score the course."""
    unknown = set(values) - set(CRITERIA_FIELDS)
    if unknown:
        raise InvalidCriteria(f"unknown fields: {', '.join(sorted(unknown))}")
    row, _ = CompletionCriteria.objects.select_for_update().get_or_create(course=course)
    before = {f: getattr(row, f) for f in values}
    for name, value in values.items():
        setattr(row, name, value)
    _validate(row)
    row.save()
    changed = {f: [before[f], values[f]] for f in values if before[f] != values[f]}
    append_audit(
        actor=by,
        action="completion.criteria_updated",
        obj=row,
        deployment=course.deployment,
        data={"course_id": course.pk, "changed": changed},
    )
    _enqueue_rescore(course.pk, None)
    return row


def _ints(values: Any) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in values or ())
    except (TypeError, ValueError) as exc:
        raise InvalidCriteria("item and course ids must be whole numbers") from exc


def draft_of(row: CompletionCriteria) -> check.Draft:
    """The row's criteria in the terms `criteria_check` judges."""
    try:
        return check.Draft(
            required_items=_ints(row.required_item_ids),
            required_submissions=_ints(row.required_submission_ids),
            min_item_scores={int(k): float(v) for k, v in (row.min_item_scores or {}).items()},
            item_due_dates={
                int(k): date.fromisoformat(str(v)) for k, v in (row.item_due_dates or {}).items()
            },
            item_prerequisites={
                int(k): _ints(v) for k, v in (row.item_prerequisites or {}).items()
            },
            prerequisite_courses=_ints(row.prerequisite_course_ids),
            min_content_share=float(row.min_content_share),
            min_overall_score=None
            if row.min_overall_score is None
            else float(row.min_overall_score),
            min_time_minutes=int(row.min_time_minutes),
            fixed_timeline=row.timeline == row.Timeline.ABSOLUTE,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            status_labels=tuple(row.status_labels or {}),
            anchor_shares=tuple(float(a.get("share", -1)) for a in row.anchors or []),
            reminder_days=_ints(row.reminder_days),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidCriteria(f"criteria in an unexpected shape: {exc}") from exc


def _validate(row: CompletionCriteria) -> None:
    draft, rules_problem = draft_of(row), None
    try:
        # The thresholds judged are the ones scoring would use: the saved over the defaults.
        draft = replace(draft, thresholds=RulesConfig.from_settings(row.rule_settings).thresholds)
    except (TypeError, ValueError) as exc:
        rules_problem = check.Problem("rule_settings", f"Risk settings: {exc}.")
    found = list(check.problems(draft, catalogue_of(row.course)))
    if rules_problem:
        found.append(rules_problem)
    if found:
        raise InvalidCriteria(" ".join(p.message for p in found), tuple(found))


@transaction.atomic
def override_status(*, membership: Membership, status: str, reason: str, by: str) -> StatusOverride:
    """Set (or with status "" clear) a learner's status by hand, with a reason. Audited."""
    if status and status not in crit.STATUSES:
        raise InvalidCriteria(f"unknown status: {status}")
    if not reason.strip():
        raise InvalidCriteria("an override needs a reason")
    row = StatusOverride.objects.create(
        membership=membership, status=status, reason=reason.strip(), by=by, at=timezone.now()
    )
    append_audit(
        actor=by,
        action="completion.status_overridden",
        obj=row,
        deployment=membership.course.deployment,
        data={"membership_id": membership.pk, "status": status, "reason": row.reason},
    )
    _enqueue_rescore(membership.course_id, [membership.pk])
    return row


@transaction.atomic
def pause_learner(
    *, membership: Membership, starts_on: date, until: date, reason: str, by: str
) -> Pause:
    """Record a pause (learner-declared or staff-entered). Audited; re-scores the learner."""
    if until < starts_on:
        raise InvalidCriteria("a pause must end on or after its first day")
    row = Pause.objects.create(
        membership=membership, starts_on=starts_on, until=until, reason=reason, created_by=by
    )
    append_audit(
        actor=by,
        action="completion.paused",
        obj=row,
        deployment=membership.course.deployment,
        data={"membership_id": membership.pk, "starts_on": starts_on, "until": until},
    )
    _enqueue_rescore(membership.course_id, [membership.pk])
    return row


@transaction.atomic
def set_accommodation(
    *,
    membership: Membership,
    time_multiplier: float,
    note: str,
    by: str,
    deadline_extension_days: int = 0,
    pace_percent: int = 100,
    alternative_requirements: str = "",
) -> Accommodation:
    """Give a learner an accommodation profile (multiplier 1.0, no extension, 100% pace and no
    alternative requirements = none). Audited; re-scores the learner, whose pace, deadline,
    signals and playbook delays then follow it."""
    if not 1.0 <= time_multiplier <= 5.0:
        raise InvalidCriteria("a time multiplier must be between 1 and 5")
    if not 0 <= deadline_extension_days <= 365:
        raise InvalidCriteria("a deadline extension must be between 0 and 365 days")
    if not 20 <= pace_percent <= 100:
        raise InvalidCriteria("a reduced pace must be between 20% and 100% of the usual pace")
    values = {
        "time_multiplier": time_multiplier,
        "deadline_extension_days": deadline_extension_days,
        "pace_percent": pace_percent,
        "alternative_requirements": alternative_requirements[:2000],
        "note": note[:500],
    }
    row, _ = Accommodation.objects.update_or_create(membership=membership, defaults=values)
    append_audit(
        actor=by,
        action="completion.accommodation_set",
        obj=row,
        deployment=membership.course.deployment,
        data={"membership_id": membership.pk, **values},
    )
    _enqueue_rescore(membership.course_id, [membership.pk])
    return row


MAX_SELF_REVISIONS = 2


@transaction.atomic
def revise_schedule(
    *, membership: Membership, extra_days: int, reason: str, by: str, today: date
) -> ScheduleRevision:
    """Move the learner's finish date by `extra_days` (1 to 60): their expected pace stretches
    to reach 100% on the new date, and a fixed deadline moves with it. A learner may revise
    their own schedule twice. Audited; re-scores the learner."""
    if not 1 <= extra_days <= 60:
        raise InvalidCriteria("a revised schedule adds 1 to 60 days")
    if by.startswith("learner:") and (
        ScheduleRevision.objects.filter(membership=membership).count() >= MAX_SELF_REVISIONS
    ):
        raise InvalidCriteria("Your schedule was revised twice already; ask your instructor.")
    latest = Progress.objects.filter(membership=membership).order_by("-as_of").first()
    due = latest.due_on if latest else None
    start = membership.enrolled_at.date()
    span = max((due - start).days, 1) if due else 30
    fixed = CompletionCriteria.objects.filter(course=membership.course, due_on=due).exists()
    row = ScheduleRevision.objects.create(
        membership=membership, extra_days=extra_days, stretch=(span + extra_days) / span,
        extension_days=extra_days if due is not None and fixed else 0,
        reason=reason[:500], by=by, at=timezone.now(),
    )  # fmt: skip
    append_audit(actor=by, action="completion.schedule_revised", obj=row,
                 deployment=membership.course.deployment,
                 data={"membership_id": membership.pk, "extra_days": extra_days,
                       "stretch": row.stretch, "today": today.isoformat()})  # fmt: skip
    _enqueue_rescore(membership.course_id, [membership.pk])
    return row


@transaction.atomic
def save_trained_model(
    *,
    artefact: TrainedArtefact,
    course: Course | None = None,
    deployment: Deployment | None = None,
    by: str,
) -> TrainedRiskModel:
    """Store a trained model for a course (or a whole deployment). Audited."""
    if (course is None) == (deployment is None):
        raise InvalidCriteria("a model belongs to exactly one course or one deployment")
    row = TrainedRiskModel.objects.create(
        course=course,
        deployment=deployment,
        trained_at=timezone.now(),
        algorithm=artefact.algorithm,
        artefact=artefact.artefact,
        feature_names=artefact.feature_names,
        samples=artefact.samples,
        metrics=artefact.metrics,
        importances=artefact.importances,
    )
    append_audit(
        actor=by,
        action="completion.risk_model_trained",
        obj=row,
        deployment=deployment or (course.deployment if course else None),
        data={"course_id": course.pk if course else None, "metrics": artefact.metrics},
    )
    return row
