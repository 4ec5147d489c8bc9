"""The audit-trail export: one tenant's entries in a date range, re-verifiable by an auditor."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from lti_tool.audit.trail import append_audit
from tests.completion.riskdata import enrol, make_course
from tests.helpers import token_for

URL = "/reports/audit/"


def token(course, membership, role):
    return token_for(membership, role, course_id=course.pk)


def at(d, hour=12):
    return datetime(2026, 3, d, hour, tzinfo=UTC)


@pytest.fixture
def trail(db):
    course, _ = make_course()
    other, _ = make_course()
    admin = enrol(course, "admin", role="admin")
    mine = course.deployment
    plan = [
        (at(1), mine, "before the range"),
        (at(2), mine, "first"),
        (at(2, 13), mine, "second"),
        (at(3), other.deployment, "another tenant"),
        (at(4, 23), mine, "third, late on the last day"),
        (at(5), mine, "after the range"),
    ]
    for when, deployment, note in plan:
        with time_machine.travel(when, tick=False):
            append_audit(
                actor="person:1",
                action="test.event",
                obj=course,
                deployment=deployment,
                data={"note": note, "nested": {"b": 2, "a": [1, "é"]}},
            )
    return course, admin


def download(course, admin, **params):
    return Client().get(URL, {**params}, HTTP_X_FINISHLINE_LAUNCH=token(course, admin, "admin"))


def test_the_export_holds_the_tenants_entries_in_range_with_hashes_that_re_verify(trail):
    course, admin = trail
    response = download(course, admin, since="2026-03-02", until="2026-03-04")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [json.loads(r["data"])["note"] for r in rows] == [
        "first",
        "second",
        "third, late on the last day",
    ]
    for row in rows:
        deployment_id = int(row["deployment_id"]) if row["deployment_id"] else None
        body = json.dumps(
            [
                row["prev_hash"],
                row["at"],
                row["actor"],
                row["action"],
                row["object_type"],
                row["object_id"],
                deployment_id,
                json.loads(row["data"]),
            ],
            sort_keys=True,
            separators=(",", ":"),
        )
        assert hashlib.sha256(body.encode()).hexdigest() == row["hash"]
        assert deployment_id == course.deployment_id
    # The first row's predecessor (outside the range) is not in the file; the second follows
    # the first; the third follows another tenant's entry, so it does not.
    assert [r["follows_previous_row"] for r in rows] == ["false", "true", "false"]
    assert rows[1]["prev_hash"] == rows[0]["hash"]


def test_only_an_admin_may_export_and_a_bad_range_shows_the_form(trail):
    course, admin = trail
    form = download(course, admin)
    assert form.status_code == 200
    assert 'name="since"' in form.content.decode()
    assert download(course, admin, since="2026-03-04", until="2026-03-02").status_code == 400
    assert download(course, admin, since="yesterday", until="2026-03-02").status_code == 400
    instructor = Client().get(
        URL,
        {"since": "2026-03-01", "until": "2026-03-05"},
        HTTP_X_FINISHLINE_LAUNCH=token(course, admin, "instructor"),
    )
    assert instructor.status_code == 403
