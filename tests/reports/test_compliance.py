"""The compliance report: rows in the course's own words, filters, groups, CSV/XLSX/PDF, access."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

import openpyxl
import pypdf
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from completion.reports import compliance as reports
from completion.risk.scoring import score_course
from completion.risk.services import override_status, pause_learner, update_criteria
from tests.completion.riskdata import add, day, enrol, make_course
from tests.helpers import token_for

NOW = day(10)  # Thursday 15 January 2026, 10:00 UTC
URL = "/reports/compliance/"


def token(course, membership, role, *, course_id="same"):
    return token_for(membership, role, course_id=course.pk if course_id == "same" else course_id)


def person(membership, *, email, **attributes):
    p = membership.person
    p.email, p.attributes = email, attributes
    p.save()
    return membership


@pytest.fixture
def world(db):
    """A scored course: ada done, bob overdue but paused, cara exempt, dan working on it."""
    with time_machine.travel(day(8), tick=False):
        course, (intro, reading, lecture, quiz, _forum) = make_course()
        update_criteria(
            course=course,
            values={
                "due_days_after_enrolment": 7,
                "status_labels": {
                    "completed": "Compliant",
                    "overdue": "Non-compliant",
                    "in_progress": "Working on it",
                },
            },
            by="test",
        )
        ada = person(
            enrol(course, "ada"),
            email="ada@example.com",
            department="Safety",
            job_role="Operator",
            location="Austin",
            hire_cohort="2025-Q4",
        )
        bob = person(
            enrol(course, "bob"),
            email="bob@example.com",
            department="Safety",
            location="Leeds",
            hire_date="2026-02-03",
        )
        cara = person(enrol(course, "cara"), email="cara@example.com", department="Finance")
        dan = person(enrol(course, "=HYPERLINK(1)", at=day(5)), email="dan@example.com")
        teacher = enrol(course, "teacher", role="instructor")
        for item in (intro, reading, lecture, quiz):
            add(course, ada, "completed", day(1), item=item, seconds=600)
        add(course, bob, "viewed", day(1), item=intro, seconds=60)
        add(course, dan, "viewed", day(6), item=intro, seconds=60)
        pause_learner(
            membership=bob, starts_on=date(2026, 1, 14), until=date(2026, 1, 20), reason="", by="t"
        )
        override_status(
            membership=cara, status="exempt", reason="Certified elsewhere", by="teacher"
        )
    with time_machine.travel(NOW, tick=False):
        score_course(course.pk, as_of=day(2).date())
        score_course(course.pk, as_of=day(9).date())
    # Another course of the same deployment, and another tenant's course.
    other, _ = make_course(deployment=course.deployment)
    other.title = "Fire safety"
    other.save()
    eve = person(enrol(other, "eve"), email="eve@example.com", department="Safety")
    stranger_course, _ = make_course()
    enrol(stranger_course, "stranger")
    with time_machine.travel(NOW, tick=False):
        score_course(other.pk, as_of=day(9).date())
        score_course(stranger_course.pk, as_of=day(9).date())
    with time_machine.travel(NOW, tick=False):
        yield {
            "course": course,
            "other": other,
            "ada": ada,
            "bob": bob,
            "cara": cara,
            "dan": dan,
            "eve": eve,
            "teacher": teacher,
        }


def csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_an_exemption_wins_over_a_pause_and_unscored_learners_say_so():
    base = reports.LearnerFacts(1, 1, "Course", "Ada", "a@x", {"hire_date": "2026-05-01"})
    assert reports.shape_row(base).status == reports.NOT_SCORED
    assert reports.shape_row(base).hire_cohort == "2026-Q2"
    both = reports.LearnerFacts(
        1,
        1,
        "Course",
        "Ada",
        "a@x",
        status="overdue",
        status_label="Late",
        paused_until=date(2026, 1, 9),
        override="exempt",
        override_reason="waived",
    )
    row = reports.shape_row(both)
    assert (row.status, row.course_status, row.exempt, row.exemption_reason) == (
        "Exempt",
        "Late",
        True,
        "waived",
    )
    paused = reports.shape_row(
        reports.LearnerFacts(2, 1, "C", "Bo", "", status="overdue", paused_until=date(2026, 1, 9))
    )
    assert (paused.status, paused.status_code) == ("Paused", "paused")


def test_filters_match_blank_attributes_as_not_set_and_groups_count_compliance():
    facts = [
        reports.LearnerFacts(1, 1, "C", "a", "", {"department": "Ops"}, status="completed"),
        reports.LearnerFacts(2, 1, "C", "b", "", {"department": "Ops"}, status="overdue"),
        reports.LearnerFacts(3, 1, "C", "c", "", {}, status="overdue", override="exempt"),
    ]
    now = datetime(2026, 1, 15, tzinfo=UTC)
    grouped = reports.build_report(
        facts, filters=reports.ReportFilters(group_by="department"), title="t", now=now
    )
    assert [(g.key, g.learners, g.completed, g.exempt) for g, _ in grouped.groups] == [
        ("(not set)", 1, 0, 1),
        ("Ops", 2, 1, 0),
    ]
    assert grouped.groups[1][0].compliant_percent == 50.0
    unset = reports.build_report(
        facts, filters=reports.ReportFilters(department="(not set)"), title="t", now=now
    )
    assert [r.learner for r in unset.rows] == ["c"]
    assert unset.options["department"] == ["(not set)", "Ops"]


def test_an_instructor_sees_the_course_in_its_own_words_with_paused_and_exempt_learners(world):
    page = Client().get(
        URL, {}, HTTP_X_FINISHLINE_LAUNCH=token(world["course"], world["teacher"], "instructor")
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert "4 learners" in body
    assert "Compliant" in body
    assert "Working on it" in body
    assert "Exempt" in body
    assert "Certified elsewhere" in body
    assert "Paused" in body
    assert "until 20 Jan 2026" in body
    assert "eve@example.com" not in body  # another course
    assert "teacher" not in body.split("<tbody>", 2)[-1]  # staff are not learners


def test_the_csv_has_every_learner_with_newest_status_due_date_and_attributes(world):
    lt = token(world["course"], world["teacher"], "instructor")
    rows = {
        r["Email"]: r
        for r in csv_rows(Client().get(URL, {"format": "csv"}, HTTP_X_FINISHLINE_LAUNCH=lt))
    }
    assert set(rows) == {
        "ada@example.com",
        "bob@example.com",
        "cara@example.com",
        "dan@example.com",
    }
    ada, bob, cara, dan = (rows[f"{n}@example.com"] for n in ("ada", "bob", "cara", "dan"))
    assert (ada["Status"], ada["Percent complete"]) == ("Compliant", "100.0")
    assert (ada["Department"], ada["Role"], ada["Location"], ada["Hire cohort"]) == (
        "Safety",
        "Operator",
        "Austin",
        "2025-Q4",
    )
    assert ada["Due date"] == "2026-01-12"
    assert (bob["Status"], bob["Course status"], bob["Paused until"]) == (
        "Paused",
        "Non-compliant",
        "2026-01-20",
    )
    assert bob["Hire cohort"] == "2026-Q1"  # from hire_date
    assert (cara["Status"], cara["Exemption reason"]) == ("Exempt", "Certified elsewhere")
    assert (dan["Status"], dan["Due date"]) == ("Working on it", "2026-01-17")
    # A name a spreadsheet would run as a formula stays text.
    assert dan["Learner"] == "'=HYPERLINK(1)"


def test_filters_and_grouping_apply_to_exports_too(world):
    lt = token(world["course"], world["teacher"], "instructor")
    safety = csv_rows(
        Client().get(URL, {"format": "csv", "department": "Safety"}, HTTP_X_FINISHLINE_LAUNCH=lt)
    )
    assert sorted(r["Email"] for r in safety) == ["ada@example.com", "bob@example.com"]
    austin = csv_rows(
        Client().get(
            URL,
            {"format": "csv", "department": "Safety", "location": "Austin"},
            HTTP_X_FINISHLINE_LAUNCH=lt,
        )
    )
    assert [r["Email"] for r in austin] == ["ada@example.com"]
    grouped = csv_rows(
        Client().get(URL, {"format": "csv", "group_by": "department"}, HTTP_X_FINISHLINE_LAUNCH=lt)
    )
    assert [r["Department"] for r in grouped] == ["", "Finance", "Safety", "Safety"]
    page = (
        Client().get(URL, {"group_by": "hire_cohort"}, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    )
    assert "2025-Q4" in page
    assert "2026-Q1" in page


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def prepared(lt: str, fmt: str, query: str):
    """Ask for an export as the page's button does; the worker (synchronous in tests) builds
    it; the page then lists it ready, and its link downloads it."""
    client = Client()
    asked = client.post("/reports/compliance/export/", {"lt": lt, "format": fmt, "query": query})
    assert asked.status_code == 302
    assert "done=export" in asked["Location"]
    page = client.get(asked["Location"], HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "Your export is being prepared" in page
    link = re.search(r'href="(/reports/exports/[^"]+/)" download', page)
    assert link, page[-2000:]
    return client.get(link.group(1), HTTP_X_FINISHLINE_LAUNCH=lt)


def test_an_export_is_only_its_owners(world, media):
    lt = token(world["course"], world["teacher"], "instructor")
    response = prepared(lt, "xlsx", "")
    assert response.status_code == 200
    from completion.reports import exports

    (mine,) = exports.mine(world["teacher"].person_id)
    other = token(world["course"], world["dan"], "instructor")
    stolen = Client().get(f"/reports/exports/{mine.token}/", HTTP_X_FINISHLINE_LAUNCH=other)
    assert stolen.status_code == 404


def test_the_xlsx_reads_back_with_rows_dates_and_a_summary_sheet(world, media):
    lt = token(world["course"], world["teacher"], "instructor")
    response = prepared(lt, "xlsx", "group_by=department")
    assert response["Content-Disposition"].endswith('.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["Learners"]
    values = list(sheet.values)
    assert values[0] == reports.HEADERS
    by_email = {row[1]: row for row in values[1:]}
    assert by_email["ada@example.com"][3] == "Compliant"
    assert by_email["ada@example.com"][5] == 100.0
    assert by_email["ada@example.com"][6].date() == date(2026, 1, 12)
    assert by_email["cara@example.com"][3] == "Exempt"
    dan_cell = next(c for c in sheet["A"] if c.value == "=HYPERLINK(1)")
    assert dan_cell.data_type == "s"  # text, not a formula
    summary = list(book["Summary"].values)
    assert summary[0][0] == "Department"
    assert ("Safety", 2, 1, 0, 1, 0, 50.0) in summary
    assert summary[-1][:2] == ("All learners", 4)


def test_the_pdf_lists_the_learners(world, media):
    lt = token(world["course"], world["teacher"], "instructor")
    response = prepared(lt, "pdf", "")
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    for expected in ("Compliance report", "ada@example.com", "Exempt", "Paused", "Compliant"):
        assert expected in text


def test_an_admin_reports_across_the_deployments_courses_and_no_one_else_may(world):
    course, teacher = world["course"], world["teacher"]
    admin = token(course, teacher, "admin", course_id=None)
    everyone = csv_rows(Client().get(URL, {"format": "csv"}, HTTP_X_FINISHLINE_LAUNCH=admin))
    assert {r["Course"] for r in everyone} == {"Course", "Fire safety"}
    assert len(everyone) == 5  # the other tenant's learner is never there
    page = Client().get(URL, {}, HTTP_X_FINISHLINE_LAUNCH=admin).content.decode()
    assert "Fire safety" in page
    assert "Import HR roster" in page
    one = csv_rows(
        Client().get(
            URL, {"format": "csv", "course": world["other"].pk}, HTTP_X_FINISHLINE_LAUNCH=admin
        )
    )
    assert [r["Email"] for r in one] == ["eve@example.com"]
    instructor = token(course, teacher, "instructor")
    assert (
        Client().get(URL, {"scope": "all"}, HTTP_X_FINISHLINE_LAUNCH=instructor).status_code == 403
    )
    assert (
        Client()
        .get(URL, {"course": world["other"].pk}, HTTP_X_FINISHLINE_LAUNCH=instructor)
        .status_code
        == 404
    )
    learner = token(course, world["ada"], "learner")
    assert Client().get(URL, {}, HTTP_X_FINISHLINE_LAUNCH=learner).status_code == 403
    assert Client().get(URL).status_code == 401
    assert reverse("reports:compliance") == URL


def test_the_page_lists_learners_a_page_at_a_time(world, monkeypatch):
    from completion.reports import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    lt = token(world["course"], world["teacher"], "instructor")
    first = Client().get(URL, {}, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    second = Client().get(URL, {"page": "2"}, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in second
    emails = ("ada@example.com", "bob@example.com", "cara@example.com", "dan@example.com")
    on_first = {e for e in emails if e in first.split("<h2", 2)[-1]}
    on_second = {e for e in emails if e in second.split("<h2", 2)[-1]}
    assert len(on_first) == len(on_second) == 2
    assert on_first.isdisjoint(on_second)


def test_the_page_sorts_by_a_column_across_pages_keeping_the_filters(world, monkeypatch):
    from completion.reports import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    lt = token(world["course"], world["teacher"], "instructor")

    def emails(**query):
        body = Client().get(URL, query, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
        table = body.rsplit("<tbody>", 1)[1].split("</tbody>", 1)[0]  # the learners
        return re.findall(r"<td>(\w+)@example.com</td>", table), body

    first, body = emails(sort="-learner")  # Z to A; dan's name starts with "="
    assert first == ["cara", "bob"]
    assert 'href="?sort=-learner&amp;page=2"' in body
    assert 'href="?&amp;sort=learner"' in body  # the header turns the order
    assert emails(sort="-learner", page="2")[0] == ["ada", "dan"]
    by_department, body = emails(sort="department", location="")
    assert by_department == ["dan", "cara"]  # no department first, then Finance
    assert emails(sort="department", page="2")[0] == ["ada", "bob"]  # Safety, by learner
