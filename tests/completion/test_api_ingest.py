from __future__ import annotations

import json

import pytest

from completion.models import Activity, ImportBatch, Item, Outcome
from lti_tool.keys import credentials
from lti_tool.models import Course, Deployment
from lti_tool.services import upsert_membership, upsert_person

EVENT = {
    "learner_id": "ann",
    "course_id": "C1",
    "verb": "completed",
    "item_id": "m1",
    "timestamp": "2026-03-02T10:00:00Z",
    "source_id": "crm-1",
    "score": 0.8,
}


@pytest.fixture
def token(platform):
    deployment = Deployment.objects.get()
    course = Course.objects.create(deployment=deployment, context_id="C1")
    person = upsert_person(deployment=deployment, sub="ann")
    upsert_membership(
        course=course,
        person=person,
        role="learner",
        lti_roles=[],
        status="active",
        at=course.created_at,
        source="admin",
    )
    issued = credentials.issue_credential(deployment=deployment, kind="api", name="CRM", actor="t")
    return f"Token {issued.key}.{issued.secret}"


def send(client, token, body):
    return client.post(
        "/api/v1/events",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )


def test_events_are_stored_once(client, token):
    assert send(client, token, [EVENT]).json() == {"stored": 1, "duplicate": 0, "pending": 0}
    assert send(client, token, [EVENT]).json() == {"stored": 0, "duplicate": 1, "pending": 0}
    activity = Activity.objects.get()
    assert (activity.source, activity.verb, activity.score) == ("api", "completed", 0.8)


def test_one_bad_event_rejects_the_batch_with_reasons(client, token):
    response = send(client, token, [EVENT, {**EVENT, "source_id": "crm-2", "verb": "danced"}, "x"])
    assert response.status_code == 400
    assert [r["index"] for r in response.json()["rejected"]] == [1, 2]
    assert not Activity.objects.exists()


def test_authentication_is_required(client, token):
    assert send(client, "Token nope.nope", [EVENT]).status_code == 401
    assert send(client, "", [EVENT]).status_code == 401


def send_history(client, token, kind, body):
    return client.post(
        f"/api/v1/history/{kind}",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=token,
    )


PERSON = {"learner_id": "bo", "course_id": "C1", "enrolled_at": "2026-02-01", "credits": 60}


def test_history_rows_import_through_the_api_all_or_nothing(client, token):
    people = [PERSON, {**PERSON, "learner_id": "cy", "withdrawn_at": "2026-03-01"}]
    first = send_history(client, token, "people", people)
    assert first.status_code == 201
    assert {k: first.json()[k] for k in ("rows", "stored", "unchanged")} == {
        "rows": 2,
        "stored": 2,
        "unchanged": 0,
    }
    assert send_history(client, token, "people", people).json()["unchanged"] == 2
    items = [{"course_id": "C1", "item_id": "tma-1", "item_type": "assessment", "pass_mark": 0.4}]
    assert send_history(client, token, "items", items).status_code == 201
    assert Item.objects.get(external_id="tma-1").pass_mark == 0.4
    outcome = {"learner_id": "bo", "course_id": "C1", "result": "passed", "decided_on": "2026-06-1"}
    bad = send_history(
        client,
        token,
        "outcomes",
        [{**outcome, "decided_on": "2026-06-01"}, outcome, {**outcome, "result": "won"}, 7],
    )
    assert bad.status_code == 400
    assert [r["index"] for r in bad.json()["rejected"]] == [1, 2, 3]
    assert ImportBatch.objects.get(pk=bad.json()["batch"]).status == "rejected"
    assert not Outcome.objects.exists()  # one bad row: nothing stored
    good = send_history(client, token, "outcomes", [{**outcome, "decided_on": "2026-06-01"}])
    assert good.status_code == 201
    stored = Outcome.objects.get()
    assert (stored.membership.person.sub, stored.result, stored.source) == (
        "bo",
        "passed",
        "import",
    )
    assert send_history(client, token, "grades", [outcome]).status_code == 404
    assert send_history(client, "Token x.y", "people", people).status_code == 401
