"""Final outcomes the LMS or an instructor tells us: what risk training and evaluation read.

Three writers besides the history import (`completion.ingest.files.records`):

- a roster sync that sees a learner's status become Inactive or Deleted records `withdrawn` on
  the day of that change (source `nrps`), unless the enrolment already has an outcome; a learner
  the platform lists as Active again loses that roster-made withdrawal (and only that one);
- a final AGS grade (a line item tagged `final` or `course-grade`, see `FINAL_TAGS`) records
  `passed` or `failed` against its pass mark (source `ags`), replacing an earlier `ags` or `nrps`
  outcome but never one an instructor or an import recorded;
- an instructor marks the outcome on the learner's page (source `instructor`), audited; this
  replaces whatever was recorded before.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from completion.models import CompletionCriteria, Item, Outcome
from lti_tool.audit.trail import append_audit
from lti_tool.models import Course, Membership, MembershipChange, Role

# AGS line-item tags that mark the course's final grade (compared case-insensitively).
FINAL_TAGS = frozenset({"final", "final-grade", "course-grade"})
LEFT = (Membership.Status.INACTIVE, Membership.Status.DELETED)
# Outcomes the LMS may replace when it knows better; an instructor's or an import's stay.
FROM_LMS = (Outcome.Source.NRPS, Outcome.Source.AGS)


class OutcomeRefused(ValueError):
    """The outcome cannot be recorded (shown to the instructor as it is)."""


def is_final_lineitem(lineitem: Mapping[str, object]) -> bool:
    return str(lineitem.get("tag") or "").strip().lower() in FINAL_TAGS


@transaction.atomic
def withdrawals_from_roster(course: Course, *, now: datetime | None = None) -> int:
    """Record `withdrawn` for learners a roster sync made Inactive or Deleted; undo it for those
    who are Active again. Returns how many withdrawals were recorded."""
    now = now or timezone.now()
    Outcome.objects.filter(
        membership__course=course,
        membership__status=Membership.Status.ACTIVE,
        source=Outcome.Source.NRPS,
    ).delete()
    left_on: dict[int, datetime] = {}
    for membership_id, changed_at in (
        MembershipChange.objects.filter(
            membership__course=course,
            membership__role=Role.LEARNER,
            membership__status__in=LEFT,
            field="status",
            new_value__in=LEFT,
            source=MembershipChange.Source.NRPS,
        )
        .exclude(membership_id__in=Outcome.objects.values("membership_id"))
        .values_list("membership_id", "changed_at")
        .order_by("changed_at")
    ):
        left_on.setdefault(membership_id, changed_at)  # the day they first left
    Outcome.objects.bulk_create(
        [
            Outcome(
                membership_id=m,
                result=Outcome.Result.WITHDRAWN,
                decided_on=timezone.localdate(at),
                source=Outcome.Source.NRPS,
                note="status in the platform's roster",
                recorded_at=now,
            )
            for m, at in left_on.items()
        ]
    )
    return len(left_on)


def final_pass_mark(item: Item) -> float | None:
    """The item's own pass mark, else the criteria's minimum for it, else the course's minimum
    overall score."""
    if item.pass_mark is not None:
        return item.pass_mark
    criteria = CompletionCriteria.objects.filter(course_id=item.course_id).first()
    if criteria is None:
        return None
    found = (criteria.min_item_scores or {}).get(str(item.pk))
    return float(found) if found is not None else criteria.min_overall_score


@transaction.atomic
def outcomes_from_final_grade(
    item: Item, grades: Mapping[str, tuple[float, date]], *, now: datetime | None = None
) -> int:
    """`grades`: learner's LTI sub -> (score 0..1, date graded). Records passed/failed against the
    pass mark; without a pass mark nothing is recorded. Returns how many were recorded."""
    mark = final_pass_mark(item)
    if mark is None or not grades:
        return 0
    now = now or timezone.now()
    kept = set(
        Outcome.objects.filter(membership__course_id=item.course_id)
        .exclude(source__in=FROM_LMS)
        .values_list("membership_id", flat=True)
    )
    rows = [
        Outcome(
            membership_id=pk,
            result=Outcome.Result.PASSED
            if grades[sub][0] + 1e-9 >= mark
            else Outcome.Result.FAILED,
            decided_on=grades[sub][1],
            source=Outcome.Source.AGS,
            note=f"final grade {grades[sub][0]:.0%} against {mark:.0%}: {item.title}"[:200],
            recorded_at=now,
        )
        for pk, sub in Membership.objects.filter(
            course_id=item.course_id, role=Role.LEARNER, person__sub__in=list(grades)
        ).values_list("pk", "person__sub")
        if pk not in kept
    ]
    Outcome.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["membership"],
        update_fields=["result", "decided_on", "source", "note", "recorded_at"],
    )
    return len(rows)


@transaction.atomic
def mark_outcome(
    *, membership: Membership, result: str, decided_on: date, note: str, by: str
) -> Outcome:
    """An instructor's word on how the enrolment ended; replaces what was recorded before."""
    if result not in Outcome.Result.values:
        raise OutcomeRefused("Choose completed, passed, failed or withdrawn.")
    if decided_on > timezone.localdate():
        raise OutcomeRefused("The date of an outcome cannot be in the future.")
    if membership.role != Role.LEARNER:
        raise OutcomeRefused("Only a learner's enrolment has an outcome.")
    before = Outcome.objects.filter(membership=membership).first()
    outcome, _ = Outcome.objects.update_or_create(
        membership=membership,
        defaults={
            "result": result,
            "decided_on": decided_on,
            "source": Outcome.Source.INSTRUCTOR,
            "note": note[:200],
            "recorded_at": timezone.now(),
        },
    )
    append_audit(
        actor=by,
        action="completion.outcome_marked",
        obj=outcome,
        deployment=membership.course.deployment,
        data={
            "membership": membership.pk,
            "result": result,
            "decided_on": decided_on,
            "note": note[:200],
            "before": [before.result, before.source] if before else None,
        },
    )
    return outcome
