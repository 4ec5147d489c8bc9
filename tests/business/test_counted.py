"""The outcome pages count in SQL (`business.counted`): every figure equals the one computed
learner by learner (`learner_outcomes` and the pure arithmetic), and the number of queries does
not grow with the number of learners."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from completion.models import Progress
from completion.risk.scoring import score_course
from interventions.business import attribution as calc
from interventions.business.enrolment_records import import_records
from interventions.business.report import course_report, deployment_report
from interventions.business.selectors import (
    ALL_COHORTS,
    economics_of,
    learner_outcomes,
    rates_by_cohort,
    records_imported,
)
from interventions.models import AttributionSettings
from lti_tool.models import Membership
from tests.business import complete, course_with_page, learner, token
from tests.completion.riskdata import day

pytestmark = pytest.mark.django_db

TODAY = day(20).date()
POINTS = Decimal(10)
BASELINE_DAY = datetime(2025, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def school():
    """Three courses; the first has one learner of every kind of outcome."""
    a, page = course_with_page(title="Python Basics", due_on=day(5).date())
    b, _ = course_with_page(title="Data Analysis", deployment=a.deployment)
    c, _ = course_with_page(title="Cloud", deployment=a.deployment)
    d = a.deployment
    done = [learner(a, f"done{n}") for n in range(3)]
    veteran = learner(a, "veteran", at=BASELINE_DAY)  # completes, enrolled in the baseline
    others = {s: learner(a, s) for s in ("late", "stale", "quitter", "refunded", "unpriced")}
    newbie = learner(a, "newbie", at=day(15))  # never scored: open
    for m in [*done, veteran]:
        complete(a, page, m, on=1)
    score_course(a.pk, as_of=day(2).date())
    # Not scored on the course's newest day: its deadline is its newest day's.
    Progress.objects.filter(membership=others["stale"], as_of=day(2).date()).delete()
    Membership.objects.filter(pk=others["quitter"].pk).update(status="inactive")
    learner(b, "", person=done[0].person, at=day(8))  # re-enrols; C the same day, B first
    learner(b, "", person=others["late"].person, at=day(0))  # same day: not a re-enrolment
    learner(c, "", person=newbie.person, at=day(40))
    learner(b, "bonly")
    header = "learner,course,date,amount,refund\n"
    rows = [
        f"done0,{b.context_id},2026-01-13,300,no",
        f"done0,{c.context_id},2026-01-13,700,no",
        f"done1,{c.context_id},2026-02-04,500,no",
        f"done2,{c.context_id},2026-02-04,,no",
        f"refunded,{a.context_id},2026-01-07,400,yes",
        f"unpriced,{a.context_id},2026-01-07,,yes",
        f"bonly,{a.context_id},2025-03-02,250,no",  # a record-only enrolment in A
        f"bonly,{a.context_id},2025-04-01,,yes",
    ]
    report = import_records(deployment=d, data=(header + "\n".join(rows)).encode(), by="t")
    assert report.ok, report.problems
    AttributionSettings.objects.create(
        deployment=d, currency="EUR", programme_fee=1000, support_cost_per_learner=40,
        followup_cost_per_learner=60, baseline_start=datetime(2025, 1, 1).date(),
        baseline_end=datetime(2025, 6, 30).date(),
    )  # fmt: skip
    return a, b, c


def expected(deployment_id, label, outcomes):
    """The figures computed learner by learner, as the reports did before counting in SQL."""
    economics = economics_of(deployment_id)
    baseline = calc.baseline_rate(
        calc.tally_of(o for o in outcomes if economics.in_baseline(o.enrolled_on)), economics
    )
    worth = calc.completer_worth(
        calc.tally_of(outcomes), economics, records_imported=records_imported(deployment_id)
    )
    by_month = defaultdict(list)
    for o in outcomes:
        by_month[o.cohort].append(o)
    months = [
        calc.attribute(m, calc.tally_of(by_month[m]), baseline=baseline, worth=worth,
                       economics=economics)
        for m in sorted(by_month, reverse=True)
    ]  # fmt: skip
    total = calc.attribute(
        label, calc.tally_of(outcomes), baseline=baseline, worth=worth, economics=economics
    )
    return worth, total, months


def by_key(rates):
    return {(r.course, r.cohort): r.rates for r in rates}


def test_the_course_page_counts_every_figure_as_the_learner_by_learner_path(school):
    a, _b, _c = school
    outcomes = learner_outcomes(a.deployment_id, today=TODAY, course_id=a.pk)
    worth, total, months = expected(a.deployment_id, ALL_COHORTS, outcomes)
    report = course_report(a, today=TODAY, points=POINTS)
    assert report.worth == worth
    assert report.total == total
    assert report.months == months
    assert by_key(report.rates) == by_key(rates_by_cohort(outcomes, {a.pk: a.title}))
    # The cohort holds every kind of outcome, so the comparison is not between zeros.
    assert (total.learners, total.completed, total.not_completed, total.still_open) == (11, 4, 6, 1)
    assert report.rates[0].cohort == ALL_COHORTS
    rates = report.rates[0].rates
    assert (rates.completed.reenrolled, rates.not_completed.refunded) == (3, 3)
    assert total.baseline_rate.value == Decimal("0.5")
    assert worth.refund_saving.basis == calc.MEASURED
    assert "mean refund 400.00" in worth.refund_saving.note
    assert "400.00 a re-enrolment" in worth.reenrolment_gain.note


def test_the_deployment_page_counts_every_course_and_month_as_the_learner_by_learner_path(school):
    a, b, c = school
    outcomes = learner_outcomes(a.deployment_id, today=TODAY)
    worth, total, months = expected(a.deployment_id, "All courses", outcomes)
    report = deployment_report(a.deployment_id, today=TODAY, points=POINTS)
    assert (report.worth, report.total, report.months) == (worth, total, months)
    titles = {x.pk: x.title for x in (a, b, c)}
    rows = []
    for course in sorted((a, b, c), key=lambda x: x.title):
        mine = [o for o in outcomes if o.course_id == course.pk]
        economics = economics_of(a.deployment_id)
        baseline = calc.baseline_rate(
            calc.tally_of(o for o in mine if economics.in_baseline(o.enrolled_on)), economics
        )
        course_worth = calc.completer_worth(calc.tally_of(mine), economics, records_imported=True)
        rows.append(calc.attribute(course.title, calc.tally_of(mine), baseline=baseline,
                                   worth=course_worth, economics=economics))  # fmt: skip
    assert report.rows == rows
    assert by_key(report.rates) == by_key(rates_by_cohort(outcomes, titles, cohorts=False))
    assert [r.label for r in report.rows] == ["Cloud", "Data Analysis", "Python Basics"]

    first = deployment_report(a.deployment_id, today=TODAY, points=POINTS, per_page=2)
    second = deployment_report(a.deployment_id, today=TODAY, points=POINTS, page=2, per_page=2)
    assert (first.pages, first.rows, second.rows) == (2, rows[:2], rows[2:])
    assert second.total == total


def page_queries(course, teacher, url, role):
    client = Client()
    lt = token(course, teacher, role)
    client.get(reverse(url), HTTP_X_FINISHLINE_LAUNCH=lt)  # warm caches
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(url), HTTP_X_FINISHLINE_LAUNCH=lt).status_code == 200
    return len(queries)


@pytest.mark.parametrize(("url", "role"), [("business:course", "instructor"),
                                           ("business:deployment", "admin")])  # fmt: skip
def test_the_outcome_pages_read_as_many_queries_for_5_learners_as_for_50(url, role):
    course, page = course_with_page(title="Course", due_on=day(5).date())
    teacher = learner(course, "teacher")
    Membership.objects.filter(pk=teacher.pk).update(role="instructor")
    counts = []
    for n in (5, 50):
        have = Membership.objects.filter(course=course, role="learner").count()
        for k in range(have, n):
            m = learner(course, f"l{k}")
            if k % 2:
                complete(course, page, m, on=1)
        score_course(course.pk, as_of=day(2).date())
        counts.append(page_queries(course, teacher, url, role))
    assert counts[0] == counts[1]


def test_the_admin_pages_through_the_courses_by_title(school, monkeypatch):
    from interventions.business import report

    a, _b, _c = school
    monkeypatch.setattr(report, "PER_PAGE", 2)
    admin = learner(a, "admin")
    url = reverse("business:deployment")
    first = Client().get(url, HTTP_X_FINISHLINE_LAUNCH=token(a, admin, "admin")).content.decode()
    assert "Page 1 of 2" in first
    assert '<th scope="row">Cloud</th>' in first
    assert '<th scope="row">Python Basics</th>' not in first
    assert "page=2" in first
    second = Client().get(url, {"page": "2"}, HTTP_X_FINISHLINE_LAUNCH=token(a, admin, "admin"))
    body = second.content.decode()
    assert "Page 2 of 2" in body
    assert '<th scope="row">Python Basics</th>' in body
    assert '<th scope="row">Cloud</th>' not in body
