"""Enrolment and refund records (CSV), and re-enrolment and refund rates by completion status."""

from __future__ import annotations

from datetime import date

import pytest

from interventions.business.attribution import outcome_rates, tally_of
from interventions.business.enrolment_records import import_records
from interventions.business.selectors import ALL_COHORTS, learner_outcomes, rates_by_cohort
from interventions.models import EnrolmentRecord
from lti_tool.models import AuditEntry, Person
from tests.business import complete, course_with_page, learner
from tests.completion.riskdata import day

pytestmark = pytest.mark.django_db

HEADER = "learner,course,date,amount,refund\n"


@pytest.fixture
def school():
    a, page = course_with_page(title="Python Basics")
    b, _ = course_with_page(title="Data Analysis", deployment=a.deployment)
    return a, page, b


def test_a_good_file_is_stored_once_and_a_reimport_stores_nothing_twice(school):
    a, _page, b = school
    ada, bob = learner(a, "ada"), learner(a, "bob")
    data = (
        HEADER
        + f"ada,{a.context_id},2026-01-05,500.00,no\n"
        + "BOB@example.edu,data analysis,2026-02-01,450,\n"
        + f"bob,{a.context_id},2026-01-20,500,yes\n"
    ).encode()
    report = import_records(deployment=a.deployment, data=data, by="test")
    assert (report.ok, report.rows, report.stored, report.duplicates) == (True, 3, 3, 0)
    rows = set(EnrolmentRecord.objects.values_list("person", "course", "kind", "on", "amount"))
    assert rows == {
        (ada.person_id, a.pk, "enrolment", date(2026, 1, 5), 500),
        (bob.person_id, b.pk, "enrolment", date(2026, 2, 1), 450),
        (bob.person_id, a.pk, "refund", date(2026, 1, 20), 500),
    }
    again = import_records(deployment=a.deployment, data=data, by="test")
    assert (again.stored, again.duplicates) == (0, 3)
    assert EnrolmentRecord.objects.count() == 3
    assert AuditEntry.objects.filter(action="business.records_imported").count() == 2


def test_broken_rows_are_reported_with_line_numbers_and_nothing_is_written(school):
    a, _page, _b = school
    learner(a, "ada")
    for twin in ("twin1", "twin2"):
        Person.objects.filter(pk=learner(a, twin).person_id).update(email="twin@x.org")
    data = (
        HEADER
        + f"ada,{a.context_id},2026-01-05,500,no\n"  # line 2: good
        + f"nobody,{a.context_id},2026-01-05,500,no\n"  # 3: unknown learner
        + f"ada,{a.context_id},05/01/2026,500,no\n"  # 4: bad date
        + f"ada,{a.context_id},2026-01-05,abc,no\n"  # 5: bad amount
        + f"ada,{a.context_id},2026-01-05,500,maybe\n"  # 6: bad flag
        + "ada,No Such Course,2026-01-05,500,no\n"  # 7: unknown course
        + f"twin@x.org,{a.context_id},2026-01-05,500,no\n"  # 8: ambiguous email
        + f"ada,{a.context_id},2026-01-05\n"  # 9: wrong number of columns
        + f"ada,{a.context_id},2026-01-05,-5,no\n"  # 10: negative amount
    ).encode()
    report = import_records(deployment=a.deployment, data=data, by="test")
    assert not report.ok
    assert [p.line for p in report.problems] == [3, 4, 5, 6, 7, 8, 9, 10]
    reasons = {p.line: p.reason for p in report.problems}
    assert "no learner 'nobody'" in reasons[3]
    assert "YYYY-MM-DD" in reasons[4]
    assert "not a number" in reasons[5]
    assert "yes/no" in reasons[6]
    assert "no course 'No Such Course'" in reasons[7]
    assert "matches 2" in reasons[8]
    assert "columns" in reasons[9]
    assert not EnrolmentRecord.objects.exists()
    missing = import_records(deployment=a.deployment, data=b"learner,course\nada,x\n", by="t")
    assert missing.problems[0].line == 1
    assert "date" in missing.problems[0].reason


def test_a_learner_of_another_deployment_is_unknown(school):
    a, _page, _b = school
    elsewhere, _ = course_with_page()
    learner(elsewhere, "eve")
    data = (HEADER + f"eve,{a.context_id},2026-01-05,1,no\n").encode()
    report = import_records(deployment=a.deployment, data=data, by="test")
    assert [p.line for p in report.problems] == [2]


def test_re_enrolment_and_refund_rates_compare_completers_with_non_completers(school):
    a, page, b = school
    ada, bob, cara, _dan = (learner(a, s) for s in ("ada", "bob", "cara", "dan"))
    complete(a, page, ada, on=1)
    complete(a, page, cara, on=1)
    learner(b, "ada", person=ada.person, at=day(10))  # re-enrols after completing
    learner(b, "bob", person=bob.person, at=day(0))  # same day: not a re-enrolment
    data = (HEADER + f"bob,{a.context_id},2026-01-08,500,yes\n").encode()
    assert import_records(deployment=a.deployment, data=data, by="test").ok

    outcomes = learner_outcomes(a.deployment_id, today=day(20).date(), course_id=a.pk)
    rates = outcome_rates(tally_of(outcomes))
    assert (rates.completed.learners, rates.completed.reenrolled, rates.completed.refunded) == (
        2,
        1,
        0,
    )
    assert rates.completed.reenrolment_rate == 0.5
    assert (rates.not_completed.learners, rates.not_completed.refunded) == (1, 1)
    assert rates.not_completed.refund_rate == 1.0
    assert rates.open == 1  # dan: no deadline, not withdrawn: counted, not compared
    (by_course, by_cohort) = rates_by_cohort(outcomes, {a.pk: a.title})
    assert (by_course.cohort, by_cohort.cohort) == (ALL_COHORTS, "2026-01")
    assert by_cohort.rates == rates
