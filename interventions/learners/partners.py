"""Study partners: opted-in peers of the same course at about the same point. `study_partners`
is the rule (pure), which the planner's messages and the learner's contact page both use.
Reads only; a learner who has not opted in sees nobody on the page (and is shown to nobody)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Max

from completion.models import Progress
from interventions.models import ContactPreference
from lti_tool.models import Membership, Role


def partners_for(membership: Membership) -> list[str]:
    """First names of up to three opted-in peers near the learner's progress."""
    if not ContactPreference.objects.filter(
        person_id=membership.person_id, study_partner_opt_in=True
    ).exists():
        return []
    peers = list(
        Membership.objects.filter(
            course_id=membership.course_id,
            role=Role.LEARNER,
            status=Membership.Status.ACTIVE,
            person__contact__study_partner_opt_in=True,
        ).select_related("person")
    )
    percent = _latest_percent([membership.pk, *(p.pk for p in peers)], membership.course_id)
    rows = [
        (p.pk, p.person.given_name or p.person.name or p.person.sub, percent.get(p.pk, 0.0))
        for p in peers
    ]
    return study_partners(membership.pk, percent.get(membership.pk, 0.0), rows)


def _latest_percent(membership_ids: list[int], course_id: int) -> dict[int, float]:
    latest = dict(
        Progress.objects.filter(course_id=course_id, membership_id__in=membership_ids)
        .values_list("membership_id")
        .annotate(day=Max("as_of"))
        .order_by()
    )
    return {
        p.membership_id: p.percent_complete
        for p in Progress.objects.filter(course_id=course_id, membership_id__in=list(latest))
        if latest.get(p.membership_id) == p.as_of
    }


PARTNER_DISTANCE = 15.0  # percentage points of progress between study partners
MAX_PARTNERS = 3


def study_partners(me: int, percent: float, peers: Iterable[tuple[int, str, float]]) -> list[str]:
    """Up to three opted-in peers (membership id, first name, percent complete) within
    PARTNER_DISTANCE points of the learner's own progress, nearest first."""
    near = sorted(
        (abs(theirs - percent), name)
        for pk, name, theirs in peers
        if pk != me and abs(theirs - percent) <= PARTNER_DISTANCE
    )
    return [name for _, name in near[:MAX_PARTNERS]]
