"""The compliance report page computed in the database: the same rows, order, groups, totals
and filter options as the full report the exports build, one page at a time, in a number of
queries that does not grow with the learners; and the other pages of a large course likewise."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from completion.reports import compliance as reports
from completion.reports import selectors as sel
from completion.reports.compliance_page import compliance_page
from completion.risk.scoring import score_course
from completion.risk.services import override_status, pause_learner
from tests.completion.riskdata import add, day, enrol, make_course
from tests.helpers import token_for
from tests.reports.test_compliance import NOW, person, world  # noqa: F401 (a fixture)

DEPARTMENTS = ["Safety", "Finance", "", " Ops "]
FILTERS = [
    reports.ReportFilters(),
    reports.ReportFilters(group_by="department"),
    reports.ReportFilters(group_by="hire_cohort"),
    reports.ReportFilters(group_by="course"),
    reports.ReportFilters(department="Safety"),
    reports.ReportFilters(department=reports.UNSET, group_by="location"),
    reports.ReportFilters(hire_cohort="2026-Q1"),
    reports.ReportFilters(department="Nobody"),
]


def cohort(n):
    """A scored course of `n` learners in mixed departments, one paused, one exempt, one
    completed by an instructor's override."""
    course, (intro, *_rest) = make_course()
    learners = []
    for k in range(n):
        attributes = {"department": DEPARTMENTS[k % 4]}
        if k % 3 == 0:
            attributes["hire_date"] = f"2026-0{1 + k % 9}-15"
        elif k % 3 == 1:
            attributes["hire_cohort"] = "2025-Q4"
        # Names out of membership order, some equal but for case, to exercise the order.
        m = person(enrol(course, f"p{k}"), email=f"p{k}@example.com", **attributes)
        m.person.name = ["zoe", "Adam", "adam", "Mia", ""][k % 5] + (f" {k % 7}" if k % 2 else "")
        m.person.save()
        add(course, m, "viewed", day(1 + k % 5), item=intro, seconds=60)
        learners.append(m)
    pause_learner(
        membership=learners[0], starts_on=date(2026, 1, 14), until=date(2026, 1, 20), reason="",
        by="t",
    )  # fmt: skip
    override_status(membership=learners[1], status="exempt", reason="elsewhere", by="t")
    override_status(membership=learners[2], status="completed", reason="done offline", by="t")
    score_course(course.pk, as_of=day(9).date())
    return course, learners


def full(courses, filters):
    return reports.build_report(
        sel.compliance_facts(courses, now=NOW), filters=filters, title="t", now=NOW
    )


@pytest.mark.django_db
@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: str(f.active() or f.group_by or "all"))
def test_every_page_summary_and_option_matches_the_full_report(filters):
    with time_machine.travel(NOW, tick=False):
        course, _ = cohort(13)
        other, _ = make_course(deployment=course.deployment)
        enrol(other, "solo")
        courses = [course, other]
        expected = full(courses, filters)
        first = compliance_page(courses, filters=filters, title="t", now=NOW, per_page=4)
        pages = [first] + [
            compliance_page(courses, filters=filters, title="t", now=NOW, page=p, per_page=4)
            for p in range(2, first.pages + 1)
        ]
    assert first.count == len(expected.rows)
    assert first.pages == max((len(expected.rows) + 3) // 4, 1)
    assert [r for p in pages for r in p.rows] == expected.rows
    assert all(len(p.rows) <= 4 for p in pages)
    assert first.total == expected.total
    assert first.groups == [g for g, _ in expected.groups]
    assert first.options == expected.options


@pytest.mark.django_db
def test_a_page_past_the_last_shows_the_last_and_the_page_view_counts_every_learner():
    with time_machine.travel(NOW, tick=False):
        course, _ = cohort(7)
        teacher = enrol(course, "teacher", role="instructor")
        lt = token_for(teacher, "instructor", course_id=course.pk)
        page = compliance_page([course], filters=reports.ReportFilters(), title="t", now=NOW,
                               page=99, per_page=3)  # fmt: skip
        body = Client().get("/reports/compliance/", HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert (page.page, page.pages, len(page.rows)) == (3, 3, 1)
    assert "7 learners" in body
    assert body.count("@example.com</td><td>Course</td>") == 7


@pytest.mark.django_db
def test_the_page_shows_exempt_and_paused_learners_as_the_full_report_does(world):  # noqa: F811
    page = compliance_page([world["course"]], filters=reports.ReportFilters(), title="t", now=NOW)
    codes = {r.email: r.status_code for r in page.rows}
    assert codes["cara@example.com"] == "exempt"
    assert codes["bob@example.com"] == "paused"
    assert (page.total.exempt, page.total.paused, page.total.completed) == (1, 1, 1)


def queries(path, course, teacher):
    lt = token_for(teacher, "instructor", course_id=course.pk)
    client = Client()
    assert client.get(path, HTTP_X_FINISHLINE_LAUNCH=lt).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, HTTP_X_FINISHLINE_LAUNCH=lt).status_code == 200
    return len(captured)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/reports/compliance/", "/reports/compliance/?group_by=department", "/course/overview/",
     "/business/course/"],
)  # fmt: skip
def test_the_queries_of_a_page_do_not_grow_with_the_learners(path):
    counts = []
    with time_machine.travel(NOW, tick=False):
        for n in (5, 50):
            course, _ = cohort(n)
            counts.append(queries(path, course, enrol(course, "teacher", role="instructor")))
    assert counts[0] == counts[1]
