"""The xAPI statements resource: validation to the letter, storage once, voiding, limits."""

from __future__ import annotations

import base64
import copy
import json
import uuid

import pytest

from completion.ingest.xapi.statements import duration_seconds, to_event, validate_statement
from completion.models import Activity, FactsSnapshot, PendingActivity, XapiStatement
from completion.risk import snapshot as facts_snapshot
from completion.risk.scoring import load_rows, score_course, today
from lti_tool.keys import credentials
from lti_tool.models import Course, Deployment, Membership
from lti_tool.services import upsert_membership, upsert_person

ADL = "http://adlnet.gov/expapi/verbs/"
VALID = {
    "actor": {
        "objectType": "Agent",
        "name": "Ann",
        "account": {"homePage": "https://lms.example.edu", "name": "ann"},
    },
    "verb": {"id": ADL + "failed", "display": {"en-US": "failed"}},
    "object": {
        "objectType": "Activity",
        "id": "https://lms.example.edu/mod/quiz/view.php?id=4",
        "definition": {
            "name": {"en-US": "Module 4 quiz"},
            "type": "http://adlnet.gov/expapi/activities/assessment",
        },
    },
    "result": {
        "score": {"scaled": 0.4, "raw": 4, "min": 0, "max": 10},
        "success": False,
        "duration": "PT12M30S",
    },
    "context": {
        "contextActivities": {"grouping": [{"id": "https://lms.example.edu/course/view.php?id=1"}]},
        "extensions": {"https://purl.imsglobal.org/spec/lti/claim/context": {"id": "course-1"}},
    },
    "timestamp": "2026-03-02T10:00:00+00:00",
}


def variant(**changes):
    statement = copy.deepcopy(VALID)
    for path, value in changes.items():
        target = statement
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        if value is ...:
            target.pop(keys[-1])
        else:
            target[keys[-1]] = value
    return statement


INVALID = {
    "no actor": variant(actor=...),
    "no verb": variant(verb=...),
    "no object": variant(object=...),
    "unknown top-level key": {**VALID, "foo": 1},
    "id not a uuid": {**VALID, "id": "not-a-uuid"},
    "agent without identifier": variant(actor={"objectType": "Agent", "name": "x"}),
    "agent with two identifiers": variant(
        actor={"mbox": "mailto:a@b.c", "openid": "https://o.example/a"}
    ),
    "mbox without mailto": variant(actor={"mbox": "a@b.c"}),
    "bad mbox_sha1sum": variant(actor={"mbox_sha1sum": "xyz"}),
    "account without homePage": variant(actor={"account": {"name": "a"}}),
    "account without name": variant(actor={"account": {"homePage": "https://x.example"}}),
    "actor of wrong type": variant(actor={"objectType": "Activity", "id": "https://x.example"}),
    "anonymous group without members": variant(actor={"objectType": "Group"}),
    "group member that is a group": variant(
        actor={
            "objectType": "Group",
            "member": [{"objectType": "Group", "mbox": "mailto:g@x.example"}],
        }
    ),
    "verb id not an IRI": variant(verb={"id": "failed"}),
    "verb display not a language map": variant(verb={"id": ADL + "failed", "display": "failed"}),
    "verb display bad language tag": variant(
        verb={"id": ADL + "failed", "display": {"not a tag": "x"}}
    ),
    "activity without id": variant(object={"objectType": "Activity"}),
    "activity id not an IRI": variant(object={"id": "quiz 4"}),
    "definition type not an IRI": variant(object__definition__type="assessment"),
    "definition unknown key": variant(object__definition__colour="red"),
    "extension key not an IRI": variant(result__extensions={"score": 1}),
    "unknown object type": variant(object={"objectType": "Thing", "id": "https://x.example"}),
    "statementref without uuid": variant(object={"objectType": "StatementRef", "id": "123"}),
    "substatement inside substatement": variant(
        object={
            "objectType": "SubStatement",
            "actor": VALID["actor"],
            "verb": VALID["verb"],
            "object": {
                "objectType": "SubStatement",
                "actor": VALID["actor"],
                "verb": VALID["verb"],
                "object": VALID["object"],
            },
        }
    ),
    "substatement with id": variant(
        object={
            "objectType": "SubStatement",
            "id": str(uuid.uuid4()),
            "actor": VALID["actor"],
            "verb": VALID["verb"],
            "object": VALID["object"],
        }
    ),
    "scaled score above 1": variant(result__score={"scaled": 1.5}),
    "raw above max": variant(result__score={"raw": 11, "min": 0, "max": 10}),
    "min not below max": variant(result__score={"min": 5, "max": 5}),
    "score not a number": variant(result__score={"scaled": "0.5"}),
    "success not boolean": variant(result__success="false"),
    "bad duration": variant(result__duration="12 minutes"),
    "unknown result key": variant(result__grade="A"),
    "registration not a uuid": variant(context__registration="r1"),
    "revision with an agent object": variant(
        object={"objectType": "Agent", "mbox": "mailto:x@y.z"}, context={"revision": "2"}
    ),
    "context statement not a ref": variant(context={"statement": {"id": str(uuid.uuid4())}}),
    "context activity not an activity": variant(
        context={"contextActivities": {"parent": [{"objectType": "Agent", "mbox": "mailto:x@y.z"}]}}
    ),
    "unknown contextActivities key": variant(context={"contextActivities": {"siblings": []}}),
    "timestamp without zone": variant(timestamp="2026-03-02T10:00:00"),
    "timestamp minus zero offset": variant(timestamp="2026-03-02T10:00:00-00:00"),
    "timestamp not a date": variant(timestamp="yesterday"),
    "bad version": {**VALID, "version": "2.0.0"},
    "attachment without sha2": {
        **VALID,
        "attachments": [
            {
                "usageType": "https://x.example/u",
                "display": {"en": "x"},
                "contentType": "text/plain",
                "length": 3,
            }
        ],
    },
    "attachment negative length": {
        **VALID,
        "attachments": [
            {
                "usageType": "https://x.example/u",
                "display": {"en": "x"},
                "contentType": "text/plain",
                "length": -1,
                "sha2": "a" * 64,
            }
        ],
    },
    "voiding a non-reference": variant(verb={"id": ADL + "voided"}),
    "not an object at all": ["a", "list"],
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_statements_are_named_with_a_reason(name):
    assert validate_statement(INVALID[name]), name


@pytest.mark.parametrize(
    "statement",
    [
        VALID,
        {
            "actor": {"mbox": "mailto:a@example.edu"},
            "verb": {"id": ADL + "experienced"},
            "object": {"id": "https://x.example/page"},
        },
        {
            "actor": {"objectType": "Group", "member": [{"mbox": "mailto:a@example.edu"}]},
            "verb": {"id": ADL + "attended"},
            "object": {"id": "https://x.example/w"},
        },
        {
            "actor": {"openid": "https://openid.example/u"},
            "verb": {"id": ADL + "voided"},
            "object": {"objectType": "StatementRef", "id": str(uuid.uuid4())},
        },
        variant(timestamp="2026-03-02T10:00:00.123+0100"),
        variant(
            object={
                "objectType": "SubStatement",
                "actor": VALID["actor"],
                "verb": VALID["verb"],
                "object": VALID["object"],
            }
        ),
    ],
)
def test_valid_statements_pass(statement):
    assert validate_statement(statement) == []


def test_mapping_keeps_score_duration_success_and_names_the_course():
    from datetime import UTC, datetime

    event = to_event({**VALID, "id": str(uuid.uuid4())}, stored=datetime.now(UTC))
    assert (event.verb, event.score, event.success, event.duration_seconds) == (
        "failed",
        0.4,
        False,
        750.0,
    )
    assert (event.item_kind, event.item_title, event.course_key) == (
        "assessment",
        "Module 4 quiz",
        "course-1",
    )
    assert event.actor.sub == "ann"
    assert duration_seconds("P1DT2H") == 93600.0


@pytest.fixture
def lrs(platform):
    deployment = Deployment.objects.get()
    course = Course.objects.create(deployment=deployment, context_id="course-1")
    person = upsert_person(deployment=deployment, sub="ann", name="Ann")
    upsert_membership(
        course=course,
        person=person,
        role="learner",
        lti_roles=[],
        status="active",
        at=course.created_at,
        source="admin",
    )
    issued = credentials.issue_credential(deployment=deployment, kind="xapi", name="LRS", actor="t")
    auth = "Basic " + base64.b64encode(f"{issued.key}:{issued.secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": auth, "HTTP_X_EXPERIENCE_API_VERSION": "1.0.3"}


def post(client, headers, body, path="/xapi/statements"):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def test_post_stores_a_statement_once_and_returns_its_id(client, lrs):
    statement = {**VALID, "id": str(uuid.uuid4())}
    first = post(client, lrs, statement)
    assert first.status_code == 200
    assert first.json() == [statement["id"]]
    assert first["X-Experience-API-Version"] == "1.0.3"
    assert post(client, lrs, statement).status_code == 200  # identical again: accepted
    assert XapiStatement.objects.count() == 1
    activity = Activity.objects.get()
    assert (activity.verb, activity.score, activity.person.sub) == ("failed", 0.4, "ann")


def test_same_id_with_other_content_is_a_conflict(client, lrs):
    statement = {**VALID, "id": str(uuid.uuid4())}
    post(client, lrs, statement)
    other = {**statement, "verb": {"id": ADL + "passed"}}
    assert post(client, lrs, other).status_code == 409


def test_an_array_is_accepted_whole_or_rejected_whole(client, lrs):
    good = {**VALID, "id": str(uuid.uuid4())}
    bad = variant(actor=...)
    response = post(client, lrs, [good, bad])
    assert response.status_code == 400
    assert "statement 1" in response.json()["error"]
    assert not XapiStatement.objects.exists()
    ids = post(client, lrs, [good, {**VALID, "id": str(uuid.uuid4())}, VALID]).json()
    assert len(ids) == 3
    assert len(set(ids)) == 3


def test_put_with_statement_id(client, lrs):
    statement_id = str(uuid.uuid4())
    response = client.put(
        f"/xapi/statements?statementId={statement_id}",
        json.dumps(VALID),
        content_type="application/json",
        **lrs,
    )
    assert response.status_code == 204
    assert str(XapiStatement.objects.get().statement_id) == statement_id
    got = client.get(f"/xapi/statements?statementId={statement_id}", **lrs)
    assert got.json()["stored"]
    assert got.json()["authority"]["objectType"] == "Agent"


def test_voiding_removes_the_event_but_keeps_the_statement(client, lrs):
    target = {**VALID, "id": str(uuid.uuid4())}
    post(client, lrs, target)
    void = {
        "actor": VALID["actor"],
        "verb": {"id": ADL + "voided"},
        "object": {"objectType": "StatementRef", "id": target["id"]},
    }
    assert post(client, lrs, void).status_code == 200
    assert not Activity.objects.exists()
    assert XapiStatement.objects.get(statement_id=target["id"]).voided
    assert client.get(f"/xapi/statements?statementId={target['id']}", **lrs).status_code == 404
    assert (
        client.get(f"/xapi/statements?voidedStatementId={target['id']}", **lrs).status_code == 200
    )


def test_voiding_drops_the_course_facts_snapshot(client, lrs):
    target = {**VALID, "id": str(uuid.uuid4())}
    post(client, lrs, target)
    course_id = Activity.objects.get().course_id
    score_course(course_id, as_of=Activity.objects.get().occurred_at.date())
    assert FactsSnapshot.objects.filter(course_id=course_id).exists()
    void = {
        "actor": VALID["actor"],
        "verb": {"id": ADL + "voided"},
        "object": {"objectType": "StatementRef", "id": target["id"]},
    }
    assert post(client, lrs, void).status_code == 200
    assert not FactsSnapshot.objects.filter(course_id=course_id).exists()
    loaded = facts_snapshot.load(Course.objects.get(pk=course_id), today(), load_rows)
    assert (loaded.source, loaded.rows.events) == ("events", 0)


def test_missing_version_header_and_bad_credentials_are_refused(client, lrs):
    headers = {k: v for k, v in lrs.items() if k != "HTTP_X_EXPERIENCE_API_VERSION"}
    assert post(client, headers, VALID).status_code == 400
    assert (
        post(
            client,
            {**lrs, "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"x:y").decode()},
            VALID,
        ).status_code
        == 401
    )


def test_oversized_body_gets_413_and_a_flood_gets_429(client, lrs, settings):
    settings.FINISHLINE = {**settings.FINISHLINE, "XAPI_MAX_BODY": 1000}
    assert post(client, lrs, [VALID] * 10).status_code == 413
    from lti_tool.models import ServiceCredential

    ServiceCredential.objects.update(rate_limit_per_minute=2)
    from django.core.cache import cache

    cache.clear()
    statuses = [post(client, lrs, VALID).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_statements_about_unknown_learners_wait_and_are_matched_later(client, lrs):
    from completion.events.store import match_pending

    stranger = variant(
        actor={"account": {"homePage": "https://lms.example.edu", "name": "newcomer"}}
    )
    post(client, lrs, stranger)
    assert PendingActivity.objects.count() == 1
    deployment = Deployment.objects.get()
    person = upsert_person(deployment=deployment, sub="newcomer")
    upsert_membership(
        course=Course.objects.get(),
        person=person,
        role="learner",
        lti_roles=[],
        status="active",
        at=person.created_at,
        source="nrps",
    )
    assert match_pending(deployment=deployment).stored == 1
    assert not PendingActivity.objects.exists()
    assert Activity.objects.get().person == person
    assert Membership.objects.count() == 2


def test_credentials_of_one_deployment_cannot_read_anothers_statements(client, lrs, platform):
    statement = {**VALID, "id": str(uuid.uuid4())}
    post(client, lrs, statement)
    other = Deployment.objects.create(
        platform=Deployment.objects.get().platform, deployment_id="other"
    )
    issued = credentials.issue_credential(deployment=other, kind="xapi", name="LRS 2", actor="t")
    headers = {
        **lrs,
        "HTTP_AUTHORIZATION": "Basic "
        + base64.b64encode(f"{issued.key}:{issued.secret}".encode()).decode(),
    }
    assert (
        client.get(f"/xapi/statements?statementId={statement['id']}", **headers).status_code == 404
    )
