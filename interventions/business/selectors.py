"""Reads of the business outcomes: learner outcomes, survey results, rates and attribution.

Every read names its deployment (and course), so a launch sees only its own tenant. Outcomes
come from completion's `Progress` (criteria met, deadlines), roster status, and the
organisation's imported enrolment and refund records; the arithmetic is `attribution`'s. The
reports count outcomes in the database (`counted`); `learner_outcomes` builds them one by one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from typing import Any

from django.db.models import Exists, Min, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncDate

from completion.models import Progress
from interventions.business import attribution as calc
from interventions.business import counted
from interventions.business.attribution import (
    Attribution,
    Economics,
    Figure,
    LearnerOutcome,
    Nps,
    Tally,
)
from interventions.models import AttributionSettings, EnrolmentRecord, SurveyInvitation
from lti_tool.db.paging import page_of
from lti_tool.models import Course, Membership, Role

ALL_COHORTS = "All cohorts"
MAX_MONTHS = 24
PER_PAGE = 50  # courses on a page of the deployment's report
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
    return _rates({k: calc.tally_of(v) for k, v in groups.items()}, titles)


def _rates(groups: dict[tuple[int, str], Tally], titles: dict[int, str]) -> list[RatesRow]:
    """All cohorts first, then the newest cohort; courses by title."""
    ordered = sorted(groups, key=lambda k: k[1], reverse=True)
    ordered.sort(key=lambda k: (titles.get(k[0], ""), k[0], k[1] != ALL_COHORTS))
    return [
        RatesRow(titles.get(course, ""), cohort, calc.outcome_rates(groups[(course, cohort)]))
        for course, cohort in ordered
    ]


@dataclass(frozen=True)
class Report:
    economics: Economics
    records_imported: bool
    worth: calc.Worth
    total: Attribution
    # Per month for a course's report; per course (one page of them) for the deployment's.
    rows: list[Attribution]
    months: list[Attribution]
    rates: list[RatesRow]
    surveys: list[SurveyRow]
    points: Decimal
    what_if: Figure
    page: int = 1
    pages: int = 1

    @property
    def totals(self) -> list[Attribution]:
        return [self.total]


@dataclass(frozen=True)
class _Groups:
    """Tallies per group key: every learner, and those who enrolled in the baseline period."""

    every: dict[str | int, Tally]
    baseline: dict[str | int, Tally]

    @classmethod
    def of(cls, rows: list[counted.GroupTally], *, by_course: bool = False) -> _Groups:
        every: dict[str | int, Tally] = defaultdict(Tally)
        baseline: dict[str | int, Tally] = defaultdict(Tally)
        for row in rows:
            key = row.course_id if by_course else row.month
            every[key] += row.tally
            if row.in_baseline:
                baseline[key] += row.tally
        return cls(dict(every), dict(baseline))

    def total(self) -> tuple[Tally, Tally]:
        return calc.sum_tallies(self.every.values()), calc.sum_tallies(self.baseline.values())


def _months(
    months: _Groups, baseline: Figure, worth: calc.Worth, economics: Economics
) -> list[Attribution]:
    newest = sorted(months.every, key=str, reverse=True)[:MAX_MONTHS]
    return [
        calc.attribute(str(m), months.every[m], baseline=baseline, worth=worth, economics=economics)
        for m in newest
    ]


def course_report(course: Course, *, today: date, points: Decimal) -> Report:
    """One course: NPS and rates by cohort, and attribution per enrolment month."""
    deployment_id = course.deployment_id
    economics = economics_of(deployment_id)
    records = records_imported(deployment_id)
    months = _Groups.of(
        counted.tallies(deployment_id, today=today, economics=economics, within=course.pk)
    )
    everyone, in_baseline = months.total()
    baseline = calc.baseline_rate(in_baseline, economics)
    worth = calc.completer_worth(everyone, economics, records_imported=records)
    total = calc.attribute(
        ALL_COHORTS, everyone, baseline=baseline, worth=worth, economics=economics
    )
    rates = {(course.pk, str(m)): t for m, t in months.every.items()}
    if months.every:
        rates[(course.pk, ALL_COHORTS)] = everyone
    monthly = _months(months, baseline, worth, economics)
    return Report(
        economics=economics,
        records_imported=records,
        worth=worth,
        total=total,
        rows=monthly,
        months=monthly,
        rates=_rates(rates, {course.pk: course.title}),
        surveys=survey_results(deployment_id, course_id=course.pk),
        points=points,
        what_if=calc.what_if(total.value_of_point, points),
    )


def courses_with_learners(deployment_id: int) -> QuerySet[Course]:
    """The deployment's courses with a learner or an enrolment record, by title."""
    learners = Membership.objects.filter(course=OuterRef("pk"), role=Role.LEARNER)
    records = EnrolmentRecord.objects.filter(
        course=OuterRef("pk"), kind=EnrolmentRecord.Kind.ENROLMENT
    )
    return (
        Course.objects.filter(deployment_id=deployment_id)
        .filter(Exists(learners) | Exists(records))
        .order_by("title", "pk")
    )


def deployment_report(
    deployment_id: int,
    *,
    today: date,
    points: Decimal,
    page: int = 1,
    per_page: int | None = None,
) -> Report:
    """Every course of the deployment (each against its own baseline; one page of courses by
    title), and every month."""
    economics = economics_of(deployment_id)
    records = records_imported(deployment_id)
    courses = courses_with_learners(deployment_id)
    cut = page_of(courses.count(), page, per_page=per_page or PER_PAGE)
    titles = dict(courses.values_list("pk", "title")[cut.first : cut.last])
    # One statement: per course and month, folded into this page's courses and every month.
    found = counted.tallies(deployment_id, today=today, economics=economics)
    by_course = _Groups.of([t for t in found if t.course_id in titles], by_course=True)
    months = _Groups.of(found)
    rows = []
    for course_id in titles:
        group = by_course.every.get(course_id, Tally())
        baseline = calc.baseline_rate(by_course.baseline.get(course_id, Tally()), economics)
        worth = calc.completer_worth(group, economics, records_imported=records)
        label = titles[course_id] or f"course {course_id}"
        rows.append(
            calc.attribute(label, group, baseline=baseline, worth=worth, economics=economics)
        )
    everyone, in_baseline = months.total()
    baseline = calc.baseline_rate(in_baseline, economics)
    worth = calc.completer_worth(everyone, economics, records_imported=records)
    total = calc.attribute(
        "All courses", everyone, baseline=baseline, worth=worth, economics=economics
    )
    rates = {(int(c), ALL_COHORTS): t for c, t in by_course.every.items()}
    return Report(
        economics=economics,
        records_imported=records,
        worth=worth,
        total=total,
        rows=rows,
        months=_months(months, baseline, worth, economics),
        rates=_rates(rates, titles),
        surveys=[s for s in survey_results(deployment_id) if s.cohort == ALL_COHORTS],
        points=points,
        what_if=calc.what_if(total.value_of_point, points),
        page=cut.number,
        pages=cut.pages,
    )
