"""Hostile input answered with a 4xx naming the limit, never a 500: each case of the issue
(long IRIs, deep nesting, NUL and lone surrogates, NUL in page filters, oversize bodies) on
xAPI, Caliper, the REST and file imports and the pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.utils import timezone

from completion.ingest.files.imports import import_file
from completion.models import ImportBatch, XapiStatement
from lti_tool.keys import credentials
from lti_tool.models import Course
from lti_tool.services import upsert_membership, upsert_person
from tests.completion.caliper_samples import envelope, event
from tests.completion.lrs import Lrs, make_deployment, statement
from tests.helpers import token_for

NESTED = "[" * 1000 + "]" * 1000


def deep(levels):
    value: object = "bottom"
    for _ in range(levels):
        value = {"http://example.com/x": value}
    return value


@pytest.fixture
def deployment(db):
    return make_deployment()


@pytest.fixture
def lrs(client, deployment):
    return Lrs(client, deployment)


# --- xAPI ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "place",
    [
        {"object": {"id": "http://example.com/" + "a" * 5000}},
        {"verb": {"id": "http://example.com/" + "v" * 5000}},
        {
            "context": {
                "extensions": {"https://purl.imsglobal.org/spec/lti/claim/context": "c" * 5000}
            }
        },
        {"context": {"contextActivities": {"grouping": [{"id": "http://e.com/" + "g" * 5000}]}}},
    ],
)
def test_an_iri_of_5000_characters_is_a_400_naming_the_limit(lrs, place):
    response = lrs.call("POST", "statements", None, statement(**place))
    assert response.status_code == 400
    assert "1000" in response.json()["error"]
    assert not XapiStatement.objects.exists()


def test_extensions_nested_a_thousand_deep_are_a_400_naming_the_limit(lrs):
    nested = '{"http://example.com/x": ' * 1000 + '"bottom"' + "}" * 1000
    body = json.dumps(statement(result={"extensions": "HERE"})).replace('"HERE"', nested)
    response = lrs.call("POST", "statements", None, body)
    assert response.status_code == 400
    assert "nest" in response.json()["error"]
    shallow = statement(result={"extensions": deep(40)})
    assert lrs.call("POST", "statements", None, shallow).status_code == 200
    too_deep = statement(result={"extensions": deep(80)})
    assert lrs.call("POST", "statements", None, too_deep).status_code == 400


@pytest.mark.parametrize("text", ["a\u0000b", "lone \ud800 surrogate", "\udc00"])
def test_nul_and_lone_surrogates_are_refused_before_the_database(lrs, text):
    sent = statement(verb={"id": "http://example.com/v", "display": {"en": text}})
    body = json.dumps(sent)  # ensure_ascii: escapes as a client would send them
    response = lrs.call("POST", "statements", None, body)
    assert response.status_code == 400
    assert "text may not contain" in response.json()["error"]
    if "\x00" in text:  # a query string cannot carry a surrogate: UTF-8 has none
        agent = {"mbox": "mailto:a@e.com"}
        params = {"activityId": "http://e.com/a", "agent": agent, "stateId": text}
        assert lrs.call("PUT", "activities/state", params, "{}").status_code == 400
    assert not XapiStatement.objects.exists()


def test_a_paired_surrogate_escape_is_fine(lrs):
    sent = statement(verb={"id": "http://example.com/v", "display": {"en": "party \U0001f389"}})
    assert lrs.call("POST", "statements", None, json.dumps(sent)).status_code == 200


def test_a_body_beyond_every_limit_is_413(lrs, client, settings):
    settings.FINISHLINE = {**settings.FINISHLINE, "MAX_REQUEST_BODY": 1000}
    response = lrs.call("POST", "statements", None, [statement() for _ in range(10)])
    assert response.status_code == 413
    assert response["X-Experience-API-Version"] == "1.0.3"
    page = client.post("/certificates/verify/", {"serial": "x" * 2000})
    assert page.status_code == 413


# --- Caliper ------------------------------------------------------------------------------------


@pytest.fixture
def caliper(deployment):
    issued = credentials.issue_credential(
        deployment=deployment, kind="caliper", name="c", actor="t"
    )
    return f"Bearer {issued.key}.{issued.secret}"


def caliper_post(client, bearer, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(
        "/caliper/events", data, content_type="application/json", HTTP_AUTHORIZATION=bearer
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"object": {"id": "https://e.org/" + "o" * 5000, "type": "Document"}}, "1000"),
        ({"extensions": deep(200)}, "nest"),
        ({"object": {"id": "https://e.org/d", "type": "Document", "name": "a\u0000b"}}, "NUL"),
        ({"object": {"id": "https://e.org/d", "type": "Document", "name": "\ud800"}}, "surrogate"),
    ],
)
def test_caliper_refuses_hostile_events_with_the_limit(client, caliper, change, reason):
    response = caliper_post(client, caliper, envelope({**event("ViewEvent"), **change}))
    assert response.status_code == 400
    assert reason in response.json()["error"]


def test_caliper_survives_a_thousand_levels_of_brackets(client, caliper):
    body = json.dumps(envelope(event("ViewEvent")))[:-1] + ', "x": ' + NESTED + "}"
    response = caliper_post(client, caliper, body)
    assert response.status_code == 400
    assert "nest" in response.json()["error"]


# --- pages --------------------------------------------------------------------------------------


@pytest.fixture
def staff(deployment):
    course = Course.objects.create(deployment=deployment, context_id="course-1")
    person = upsert_person(deployment=deployment, sub="ivy")
    membership = upsert_membership(
        course=course,
        person=person,
        role="instructor",
        lti_roles=[],
        status="active",
        at=timezone.now(),
        source="admin",
    )
    return token_for(membership, role="instructor")


@pytest.mark.parametrize(
    "path", ["/course/risk/", "/certificates/course/", "/certificates/verify/"]
)
def test_nul_in_a_page_filter_is_a_clean_400(client, staff, path):
    response = client.get(f"{path}?q=a%00b&serial=a%00b", HTTP_X_FINISHLINE_LAUNCH=staff)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    form = client.post(path, {"lt": staff, "q": "a\x00b"})
    assert form.status_code == 400
    assert client.get(f"{path}?q=ab", HTTP_X_FINISHLINE_LAUNCH=staff).status_code in {200, 302, 404}


# --- REST and file imports ----------------------------------------------------------------------


def row(**changes):
    return {
        "learner_id": "ann",
        "course_id": "course-1",
        "verb": "viewed",
        "timestamp": "2026-03-02T10:00:00Z",
        "source_id": "r1",
        **changes,
    }


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"learner_id": "a\u0000b"}, "NUL"),
        ({"item_title": "\ud800"}, "surrogate"),
        ({"course_id": "c" * 5000}, "255"),
        ({"item_id": "i" * 5000}, "1000"),
    ],
)
def test_the_rest_ingest_refuses_unstorable_rows(client, deployment, change, reason):
    issued = credentials.issue_credential(deployment=deployment, kind="api", name="a", actor="t")
    response = client.post(
        "/api/v1/events",
        json.dumps([row(**change)]),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {issued.key}.{issued.secret}",
    )
    assert response.status_code == 400
    body = response.json()
    reasons = [body["error"], *(r["reason"] for r in body.get("rejected", []))]
    assert any(reason in r for r in reasons), reasons


def test_the_rest_ingest_survives_deep_nesting_and_big_bodies(client, deployment, settings):
    issued = credentials.issue_credential(deployment=deployment, kind="api", name="a", actor="t")
    auth = {"HTTP_AUTHORIZATION": f"Token {issued.key}.{issued.secret}"}
    nested = client.post("/api/v1/events", NESTED, content_type="application/json", **auth)
    assert nested.status_code == 400
    assert "nest" in nested.json()["error"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = json.dumps([row(source_id=str(n)) for n in range(100)])
    assert (
        client.post("/api/v1/events", big, content_type="application/json", **auth).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("content", "file_format"),
    [
        (
            b"learner_id,course_id,verb,timestamp,source_id\nann,\x00c,viewed,2026-03-02T10:00:00Z,1\n",
            "csv",
        ),
        (
            b"learner_id,course_id,verb,timestamp,source_id\nann,c,viewed,2026-03-02T10:00:00Z,\xff\xfe\n",
            "csv",
        ),
        (json.dumps(row(course_id="c" * 5000)).encode() + b"\n", "jsonl"),
        (b'{"learner_id": "a\\u0000"}\n', "jsonl"),
        (NESTED.encode() + b"\n", "jsonl"),
    ],
)
def test_a_hostile_import_file_is_rejected_with_a_report_not_a_crash(
    deployment, tmp_path: Path, content, file_format
):
    path = tmp_path / f"events.{file_format}"
    path.write_bytes(content)
    batch = import_file(deployment=deployment, path=path, file_format=file_format, created_by="t")
    assert batch.status == ImportBatch.Status.REJECTED
    assert batch.rejected
    assert batch.rejected[0]["reason"]
