"""Reads of the business outcomes per learner: outcomes, enrolments, survey results and rates.

Every read names its deployment (and course), so a launch sees only its own tenant. Outcomes
come from completion's `Progress` (criteria met, deadlines), roster status, and the
organisation's imported enrolment and refund records; the arithmetic is `attribution`'s.
`learner_outcomes` builds them one by one; the course and deployment reports, which count
them in the database, are `report`'s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from typing import Any

from django.db.models import Min, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncDate

from completion.models import Progress
from interventions.business import attribution as calc
from interventions.business.attribution import (
    Economics,
    LearnerOutcome,
    Nps,
    Tally,
)
from interventions.models import AttributionSettings, EnrolmentRecord, SurveyInvitation
from lti_tool.models import Membership, Role

ALL_COHORTS = "All cohorts"
WITHDRAWN = (Membership.Status.INACTIVE, Membership.Status.DELETED)

# person -> course -> (first enrolment day, amount the organisation recorded for it)
EnrolmentMap = dict[int, dict[int, tuple[date, Decimal | None]]]


def economics_of(deployment_id: int) -> Economics:
    row = AttributionSettings.objects.filter(deployment_id=deployment_id).first()
    if row is None:
        return Economics()
    return Economics(
        currency=row.currency,
        programme_fee=row.programme_fee,
        support_cost=row.support_cost_per_learner,
        followup_cost=row.followup_cost_per_learner,
        baseline_start=row.baseline_start,
        baseline_end=row.baseline_end,
    )


def records_imported(deployment_id: int) -> bool:
    return EnrolmentRecord.objects.filter(deployment_id=deployment_id).exists()


def completion_dates(course_ids: Collection[int]) -> dict[int, date]:
    """The first day each membership of these courses met its course's criteria."""
    return dict(
        Progress.objects.filter(course_id__in=course_ids, criteria_met=True)
        .values("membership_id")
        .annotate(first=Min("as_of"))
        .values_list("membership_id", "first")
    )


def deadlines(course_ids: Collection[int], *, today: date) -> dict[int, date]:
    """Each learner's deadline in force: the due date of their newest progress by `today`.

    One index probe per learner for its newest day in one query, then one indexed read per
    distinct day (learners are scored together, so there are few), not an aggregate over every
    day of every learner's history."""
    newest_day = (
        Progress.objects.filter(membership_id=OuterRef("pk"), as_of__lte=today)
        .order_by("-as_of")
        .values("as_of")[:1]
    )
    newest: dict[int, date] = dict(
        Membership.objects.filter(course_id__in=course_ids, role=Role.LEARNER)
        .annotate(day=Subquery(newest_day))
        .filter(day__isnull=False)
        .values_list("pk", "day")
    )
    found: dict[int, date] = {}
    for day in set(newest.values()):
        for membership, due in Progress.objects.filter(
            course_id__in=course_ids, as_of=day, due_on__isnull=False
        ).values_list("membership_id", "due_on"):
            if newest.get(membership) == day and due is not None:
                found[membership] = due
    return found


def enrolments_of(
    deployment_id: int, person_ids: Collection[int] | QuerySet[Any] | None = None
) -> EnrolmentMap:
    """Each learner's enrolments across the deployment: launches and NRPS, and the records.

    `person_ids` may be a queryset of person ids, read by the database as a subquery."""
    found: EnrolmentMap = defaultdict(dict)
    memberships = Membership.objects.filter(course__deployment_id=deployment_id, role=Role.LEARNER)
    records = EnrolmentRecord.objects.filter(
        deployment_id=deployment_id, kind=EnrolmentRecord.Kind.ENROLMENT
    )
    if person_ids is not None:
        memberships = memberships.filter(person_id__in=person_ids)
        records = records.filter(person_id__in=person_ids)
    days = memberships.values_list("person_id", "course_id", TruncDate("enrolled_at", tzinfo=UTC))
    for person, course, on in days:
        found[person][course] = (on, None)
    for person, course, on, amount in records.values_list("person_id", "course_id", "on", "amount"):
        first, recorded = found[person].get(course, (on, None))
        if amount is not None:
            recorded = (recorded or Decimal(0)) + amount
        found[person][course] = (min(first, on), recorded)
    return found


def _next_enrolment(
    courses: dict[int, tuple[date, Decimal | None]], course_id: int, after: date
) -> calc.LaterEnrolment | None:
    later = [
        (on, c, amount) for c, (on, amount) in courses.items() if c != course_id and on > after
    ]
    if not later:
        return None
    on, course, amount = min(later, key=lambda t: (t[0], t[1]))
    return calc.LaterEnrolment(course, on, amount)


def learner_outcomes(
    deployment_id: int, *, today: date, course_id: int | None = None
) -> list[LearnerOutcome]:
    """Every learner of the deployment (or one course): memberships and record-only enrolments."""
    memberships = Membership.objects.filter(course__deployment_id=deployment_id, role=Role.LEARNER)
    records = EnrolmentRecord.objects.filter(deployment_id=deployment_id)
    if course_id is not None:
        memberships = memberships.filter(course_id=course_id)
        records = records.filter(course_id=course_id)
    rows = list(memberships.values_list("pk", "person_id", "course_id", "status"))
    course_ids = {r[2] for r in rows} | set(records.values_list("course_id", flat=True))
    met = set(completion_dates(course_ids))
    due = deadlines(course_ids, today=today)
    refunds = _refunds(records)
    people = memberships.values("person_id").union(records.values("person_id"))
    enrolments = enrolments_of(deployment_id, people)
    found = []
    keys = {(person, course): (pk, status) for pk, person, course, status in rows}
    for person, courses in enrolments.items():
        for course, (on, _amount) in courses.items():
            if course not in course_ids or (course_id is not None and course != course_id):
                continue
            pk, status = keys.get((person, course), (None, ""))
            refunded = (person, course) in refunds
            outcome = calc.outcome_of(
                met=pk in met,
                withdrawn=status in WITHDRAWN,
                refunded=refunded,
                due_on=due.get(pk) if pk else None,
                today=today,
            )
            found.append(
                LearnerOutcome(
                    person_id=person,
                    course_id=course,
                    enrolled_on=on,
                    outcome=outcome,
                    refunded=refunded,
                    refund_amount=refunds.get((person, course)),
                    next_enrolment=_next_enrolment(courses, course, on),
                )
            )
    return found


def _refunds(records: QuerySet[EnrolmentRecord]) -> dict[tuple[int, int], Decimal | None]:
    """Refunded (learner, course) pairs with the amount refunded, where it was recorded."""
    found: dict[tuple[int, int], Decimal | None] = {}
    refunds = records.filter(kind=EnrolmentRecord.Kind.REFUND)
    for person, course, amount in refunds.values_list("person_id", "course_id", "amount"):
        before = found.get((person, course))
        found[(person, course)] = amount if before is None else before + (amount or 0)
    return found


# --- satisfaction ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyRow:
    course_id: int
    course: str
    cohort: str
    group: str
    invited: int
    result: Nps

    @property
    def group_label(self) -> str:
        return calc.OUTCOME_WORDS[self.group]


@dataclass(frozen=True)
class SurveyComment:
    group: str
    score: int
    text: str
    answered_on: date


def survey_results(deployment_id: int, *, course_id: int | None = None) -> list[SurveyRow]:
    """NPS per course, cohort (and all cohorts) and moment: completers against non-completers."""
    invitations = SurveyInvitation.objects.filter(course__deployment_id=deployment_id)
    if course_id is not None:
        invitations = invitations.filter(course_id=course_id)
    titles: dict[int, str] = {}
    groups: dict[tuple[int, str, str], tuple[int, list[int]]] = {}
    for course, title, moment, enrolled_at, score in invitations.values_list(
        "course_id", "course__title", "moment", "membership__enrolled_at", "response__score"
    ):
        titles[course] = title
        for cohort in (ALL_COHORTS, calc.cohort_of(enrolled_at.date())):
            invited, scores = groups.get((course, cohort, moment), (0, []))
            groups[(course, cohort, moment)] = (invited + 1, scores)
            if score is not None:
                scores.append(score)
    rows = [
        SurveyRow(course, titles[course], cohort, moment, invited, calc.nps(scores))
        for (course, cohort, moment), (invited, scores) in groups.items()
    ]
    # All cohorts first, then the newest cohort; completers before non-completers.
    rows.sort(key=lambda r: r.group)
    rows.sort(key=lambda r: r.cohort, reverse=True)
    rows.sort(key=lambda r: (r.course, r.course_id, r.cohort != ALL_COHORTS))
    return rows


def survey_comments(course_id: int, *, limit: int = 50) -> list[SurveyComment]:
    """The newest comments, without names (answers are reported, not attributed)."""
    rows = (
        SurveyInvitation.objects.filter(course_id=course_id, response__isnull=False)
        .exclude(response__comment="")
        .order_by("-response__answered_at")
        .values_list("moment", "response__score", "response__comment", "response__answered_at")
    )
    return [SurveyComment(m, s, c, at.date()) for m, s, c, at in rows[:limit]]


# --- re-enrolment, refunds and attribution -------------------------------------------------------


@dataclass(frozen=True)
class RatesRow:
    course: str
    cohort: str
    rates: calc.OutcomeRates


def rates_by_cohort(
    outcomes: list[LearnerOutcome], titles: dict[int, str], *, cohorts: bool = True
) -> list[RatesRow]:
    """Re-enrolment and refund rates per course (and cohort, newest first) of learner outcomes."""
    groups: dict[tuple[int, str], list[LearnerOutcome]] = defaultdict(list)
    for o in outcomes:
        groups[(o.course_id, ALL_COHORTS)].append(o)
        if cohorts:
            groups[(o.course_id, o.cohort)].append(o)
    return ordered_rates({k: calc.tally_of(v) for k, v in groups.items()}, titles)


def ordered_rates(groups: dict[tuple[int, str], Tally], titles: dict[int, str]) -> list[RatesRow]:
    """The rates of each (course, cohort) group: courses by title, all cohorts first, then the
    newest cohort."""
    ordered = sorted(groups, key=lambda k: k[1], reverse=True)
    ordered.sort(key=lambda k: (titles.get(k[0], ""), k[0], k[1] != ALL_COHORTS))
    return [
        RatesRow(titles.get(course, ""), cohort, calc.outcome_rates(groups[(course, cohort)]))
        for course, cohort in ordered
    ]
