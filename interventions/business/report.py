"""The business outcome reports: one course's (by cohort and enrolment month), and the
deployment's (one page of its courses, each against its own baseline, and every month).

Outcomes are counted in the database (`counted`), grouped here and priced by `attribution`;
the per-learner reads they share with the learner pages (economics, surveys, rates) are
`selectors`'.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Exists, OuterRef, QuerySet

from interventions.business import attribution as calc
from interventions.business import counted
from interventions.business.attribution import Attribution, Economics, Figure, Tally
from interventions.business.selectors import (
    ALL_COHORTS,
    RatesRow,
    SurveyRow,
    economics_of,
    ordered_rates,
    records_imported,
    survey_results,
)
from interventions.models import EnrolmentRecord
from lti_tool.db.paging import page_of
from lti_tool.models import Course, Membership, Role

MAX_MONTHS = 24
PER_PAGE = 50  # courses on a page of the deployment's report


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
        rates=ordered_rates(rates, {course.pk: course.title}),
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
        rates=ordered_rates(rates, titles),
        surveys=[s for s in survey_results(deployment_id) if s.cohort == ALL_COHORTS],
        points=points,
        what_if=calc.what_if(total.value_of_point, points),
        page=cut.number,
        pages=cut.pages,
    )
