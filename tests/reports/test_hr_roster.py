"""HR roster import: merged whole into one deployment's people, or rejected with line numbers."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from completion.models import HrRosterImport
from completion.reports.hr_roster import import_hr_roster, parse_roster
from lti_tool.models import AuditEntry, Person
from tests.completion.riskdata import enrol, make_course
from tests.helpers import token_for

URL = "/reports/hr-roster/"


def token(course, membership, role):
    return token_for(membership, role, course_id=course.pk)


@pytest.fixture
def people(db):
    course, _ = make_course()
    ada = enrol(course, "u-ada")
    ada.person.email = "Ada@Example.com"
    ada.person.attributes = {"manager_email": "boss@example.com", "location": "Austin"}
    ada.person.save()
    bob = enrol(course, "u-bob")
    twin_a, twin_b = enrol(course, "u-twin-a"), enrol(course, "u-twin-b")
    for twin in (twin_a, twin_b):
        twin.person.email = "shared@example.com"
        twin.person.save()
    admin = enrol(course, "u-admin", role="admin")
    # Someone with the same sub in another tenant is never touched.
    elsewhere, _ = make_course()
    stranger = enrol(elsewhere, "u-bob")
    return {"course": course, "ada": ada, "bob": bob, "admin": admin, "stranger": stranger}


def attributes(membership):
    return Person.objects.get(pk=membership.person_id).attributes


def test_parsing_renames_role_derives_the_hire_cohort_and_skips_blank_cells():
    parsed = parse_roster(
        b"\xef\xbb\xbfUser_ID,email,department,role,location,hire_date,badge\n"
        b"u1,,Safety,Operator,,2026-02-03,x\n"
        b",,,,,,\n"
        b",b@example.com,,,Leeds,,\n"
    )
    assert parsed.errors == []
    assert parsed.total == 2
    first, second = parsed.rows
    assert (first.line, first.user_id) == (2, "u1")
    assert first.attributes == {
        "department": "Safety",
        "job_role": "Operator",
        "hire_date": "2026-02-03",
        "hire_cohort": "2026-Q1",
    }
    assert (second.line, second.email, second.attributes) == (
        4,
        "b@example.com",
        {"location": "Leeds"},
    )


def test_a_header_without_an_identifier_is_refused_on_line_one():
    parsed = parse_roster(b"name,department\nAda,Safety\n")
    assert [(e.line, e.reason) for e in parsed.errors] == [
        (1, "the header needs a user_id or an email column (found: name, department)")
    ]
    assert parse_roster(b"\xff\xfe").errors[0].reason == "the file is not UTF-8 text"


def test_a_good_roster_merges_by_user_id_and_email_keeping_other_attributes(people):
    data = (
        b"user_id,email,department,role,location,hire_date\n"
        b",ada@example.COM,Safety,Operator,,2025-11-20\n"
        b"u-bob,,Finance,,Leeds,\n"
    )
    record = import_hr_roster(
        deployment=people["course"].deployment, data=data, filename="hr.csv", by="person:1"
    )
    assert record.status == HrRosterImport.Status.DONE
    assert (record.rows_total, record.people_updated, record.people_unchanged) == (2, 2, 0)
    assert attributes(people["ada"]) == {
        "manager_email": "boss@example.com",
        "location": "Austin",  # a blank cell leaves it alone
        "department": "Safety",
        "job_role": "Operator",
        "hire_date": "2025-11-20",
        "hire_cohort": "2025-Q4",
    }
    assert attributes(people["bob"]) == {"department": "Finance", "location": "Leeds"}
    assert attributes(people["stranger"]) == {}
    entry = AuditEntry.objects.get(action="completion.hr_roster_imported")
    assert entry.data["people_updated"] == 2
    assert entry.deployment_id == people["course"].deployment_id
    again = import_hr_roster(
        deployment=people["course"].deployment, data=data, filename="hr.csv", by="person:1"
    )
    assert (again.people_updated, again.people_unchanged) == (0, 2)


def test_one_broken_row_rejects_the_file_with_every_problem_and_changes_no_one(people):
    data = (
        b"user_id,email,department,role,location,hire_date\n"
        b"u-ada,,Safety,,,\n"  # fine on its own
        b"u-nobody,,Safety,,,\n"
        b"u-bob,,Safety,,,31/01/2026\n"
        b",shared@example.com,Safety,,,\n"
        b"u-bob,,Ops,,\n"
        b",,Safety,,,\n"
        b"u-ada,,Ops,,,\n"
    )
    record = import_hr_roster(
        deployment=people["course"].deployment, data=data, filename="hr.csv", by="person:1"
    )
    assert record.status == HrRosterImport.Status.REJECTED
    assert record.errors == [
        {"line": 3, "reason": "no person with user_id 'u-nobody' in this deployment"},
        {"line": 4, "reason": "hire_date '31/01/2026' is not a date like 2026-01-31"},
        {"line": 5, "reason": "email 'shared@example.com' matches 2 people; use user_id"},
        {"line": 6, "reason": "wrong number of columns"},
        {"line": 7, "reason": "neither user_id nor email is given"},
        {"line": 8, "reason": "the same person as line 2"},
    ]
    assert attributes(people["ada"]) == {"manager_email": "boss@example.com", "location": "Austin"}
    assert attributes(people["bob"]) == {}
    assert not AuditEntry.objects.filter(action="completion.hr_roster_imported").exists()


def test_an_admin_uploads_through_the_page_and_an_instructor_may_not(people):
    course, admin = people["course"], people["admin"]
    lt = token(course, admin, "admin")
    form = Client().get(URL, {}, HTTP_X_FINISHLINE_LAUNCH=lt)
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.content.decode()
    good = SimpleUploadedFile("hr.csv", b"user_id,department\nu-bob,Safety\n", "text/csv")
    done = Client().post(URL, {"lt": lt, "roster": good})
    assert done.status_code == 200
    assert "1 person updated" in done.content.decode()
    assert attributes(people["bob"]) == {"department": "Safety"}
    bad = SimpleUploadedFile("bad.csv", b"user_id,department\nu-nobody,Safety\n", "text/csv")
    refused = Client().post(URL, {"lt": lt, "roster": bad})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "nothing was changed" in body
    assert "<td>2</td><td>no person with user_id &#x27;u-nobody&#x27;" in body
    assert Client().post(URL, {"lt": lt}).status_code == 400  # no file
    teacher = token(course, admin, "instructor")
    assert Client().get(URL, {}, HTTP_X_FINISHLINE_LAUNCH=teacher).status_code == 403


def test_the_roster_names_a_manager_and_a_phone(people):
    data = b"user_id,email,manager_email,phone\nu-bob,,lead@example.com,+447700900456\n"
    import_hr_roster(
        deployment=people["course"].deployment, data=data, filename="hr.csv", by="person:1"
    )
    assert attributes(people["bob"]) == {
        "manager_email": "lead@example.com",
        "phone": "+447700900456",
    }
