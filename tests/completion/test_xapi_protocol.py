"""What every xAPI resource shares (Communication 1.1 HEAD, 1.3 Alternate Request Syntax, 2.1
statement parameters and formats, 2.8 About, 3.2 error codes, 3.3 versioning), and the data
rules fixed for the ADL conformance suite (Data 2.4.4 definitions, 2.4.6 context activities,
4.6 durations). Requirement groups of the suite, in this project's own tests.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest

from completion.ingest.xapi.validation import validate_statement
from completion.models import XapiStatement
from tests.completion.lrs import ACTIVITY, AGENT, Lrs, basic, make_deployment, statement

STATEMENT_PARAMS = [
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
]
EVERY_RESOURCE = [
    ("statements", {}),
    ("activities", {"activityId": ACTIVITY}),
    ("activities/profile", {"activityId": ACTIVITY, "profileId": "p"}),
    ("activities/state", {"activityId": ACTIVITY, "agent": AGENT, "stateId": "s"}),
    ("agents", {"agent": AGENT}),
    ("agents/profile", {"agent": AGENT, "profileId": "p"}),
]


@pytest.fixture
def lrs(db, client):
    return Lrs(client, make_deployment())


# --- About (2.8) and versioning (3.3) ----------------------------------------------------------


def test_about_is_open_and_lists_the_versions(client, db):
    response = client.get("/xapi/about")
    assert response.status_code == 200
    assert "1.0.3" in response.json()["version"]
    assert response["X-Experience-API-Version"] == "1.0.3"
    assert client.head("/xapi/about").content == b""


@pytest.mark.parametrize(("path", "params"), EVERY_RESOURCE)
def test_every_resource_refuses_a_request_without_the_version_header(lrs, path, params):
    lrs.version = ""
    for sent in ({}, params):
        response = lrs.call("GET", path, sent)
        assert response.status_code == 400
        assert response["X-Experience-API-Version"] == "1.0.3"
        assert "X-Experience-API-Version" in response.json()["error"]


def test_a_wrong_credential_is_401_on_every_resource(client, db):
    for path, _ in EVERY_RESOURCE:
        response = client.get(
            f"/xapi/{path}",
            HTTP_AUTHORIZATION=basic("nobody", "nothing"),
            HTTP_X_EXPERIENCE_API_VERSION="1.0.3",
        )
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Basic")


# --- HEAD (1.1) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "params"), EVERY_RESOURCE)
def test_head_answers_as_get_without_a_body(lrs, path, params):
    if path == "activities/state":
        lrs.call("PUT", path, params, {"a": 1})
    if path.endswith("profile"):
        lrs.call("PUT", path, params, {"a": 1}, **{"If-None-Match": "*"})
    get = lrs.call("GET", path, params)
    head = lrs.call("HEAD", path, params)
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    assert head["Content-Type"] == get["Content-Type"]


# --- Alternate Request Syntax (1.3) -------------------------------------------------------------


def form_post(lrs, path, method, fields, query=None, **headers):
    url = f"/xapi/{path}?" + (query if query is not None else f"method={method}")
    return lrs.client.post(
        url, urlencode(fields), content_type="application/x-www-form-urlencoded", **headers
    )


def test_a_form_post_can_stand_for_get_with_headers_in_the_form(lrs):
    lrs.call("POST", "statements", None, [statement(), statement()])
    response = form_post(lrs, "statements", "GET", {"limit": "1"}, **lrs.headers())
    assert response.status_code == 200
    body = response.json()
    assert len(body["statements"]) == 1
    assert body["more"]
    assert "X-Experience-API-Consistent-Through" in response


def test_a_form_post_can_stand_for_put_carrying_credentials_and_version(lrs):
    sent = statement()
    fields = {
        "statementId": sent["id"],
        "content": json.dumps(sent),
        "Authorization": lrs.auth,
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }
    assert form_post(lrs, "statements", "PUT", fields).status_code == 204  # no real headers
    assert XapiStatement.objects.filter(statement_id=sent["id"]).exists()


def test_form_fields_override_headers_and_bad_forms_are_refused(lrs):
    sent = statement()
    fields = {"statementId": sent["id"], "content": json.dumps(sent)}
    old = {**fields, "X-Experience-API-Version": "0.8"}
    assert form_post(lrs, "statements", "PUT", old, **lrs.headers()).status_code == 400
    assert form_post(lrs, "statements", "PUT", {}, **lrs.headers()).status_code == 400
    raw = lrs.client.post(
        "/xapi/statements?method=PUT",
        json.dumps(sent),
        content_type="application/x-www-form-urlencoded",
        **lrs.headers(),
    )
    assert raw.status_code == 400  # a JSON text is not a form with `content`
    extra_query = form_post(
        lrs, "statements", "PUT", fields, query=f"method=PUT&statementId={sent['id']}"
    )
    assert extra_query.status_code == 400
    not_post = lrs.client.put(
        "/xapi/statements?method=POST",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        **lrs.headers(),
    )
    assert not_post.status_code == 400
    assert not XapiStatement.objects.exists()


def test_the_alternate_syntax_reaches_the_document_resources(lrs):
    params = {"activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": "s1"}
    put = form_post(
        lrs, "activities/state", "PUT", {**params, "content": '{"x": 1}'}, **lrs.headers()
    )
    assert put.status_code == 204
    got = form_post(lrs, "activities/state", "GET", params, **lrs.headers())
    assert got.json() == {"x": 1}


# --- statement parameters and error codes (2.1, 3.2) -------------------------------------------


@pytest.mark.parametrize("name", STATEMENT_PARAMS)
def test_wrongly_cased_statement_parameters_are_refused(lrs, name):
    wrong = name[0].upper() + name[1:]
    response = lrs.call("GET", "statements", {wrong: "1"})
    assert response.status_code == 400
    assert "X-Experience-API-Consistent-Through" in response
    assert lrs.call("GET", "statements", {name.upper(): "1"}).status_code == 400


def test_unknown_parameters_are_refused_on_every_method(lrs):
    sent = statement()
    assert lrs.call("GET", "statements", {"foo": "bar"}).status_code == 400
    assert lrs.call("POST", "statements", {"foo": "bar"}, sent).status_code == 400
    put = lrs.call("PUT", "statements", {"statementId": sent["id"], "foo": "bar"}, sent)
    assert put.status_code == 400
    assert lrs.call("PUT", "statements", {"StatementId": sent["id"]}, sent).status_code == 400
    assert not XapiStatement.objects.exists()


def test_a_parameter_given_twice_is_refused(lrs):
    response = lrs.client.get("/xapi/statements?limit=1&limit=2", **lrs.headers())
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("params", "ok"),
    [
        ({"verb": "not an iri"}, False),
        ({"activity": "x" * 2000}, False),
        ({"registration": "true"}, False),
        ({"agent": '{"name": "no ifi"}'}, False),
        ({"limit": "-1"}, False),
        ({"limit": "9" * 40}, False),
        ({"ascending": "yes"}, False),
        ({"since": "true"}, False),
        ({"verb": "http://adlnet.gov/expapi/verbs/experienced"}, True),
    ],
)
def test_statement_query_parameters_are_checked(lrs, params, ok):
    assert (lrs.call("GET", "statements", params).status_code == 200) is ok


# --- statement formats (2.1.3) and context activities (Data 2.4.6) ------------------------------


def test_a_single_context_activity_is_returned_as_an_array(lrs):
    parent = {"id": "http://example.com/parent", "objectType": "Activity"}
    sub = {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:bo@example.edu"},
        "verb": {"id": "http://example.com/v"},
        "object": {"id": "http://example.com/o"},
        "context": {"contextActivities": {"category": parent}},
    }
    sent = statement(
        object=sub, context={"contextActivities": {"parent": parent, "other": [parent]}}
    )
    lrs.call("POST", "statements", None, sent)
    got = lrs.call("GET", "statements", {"statementId": sent["id"]}).json()
    assert got["context"]["contextActivities"] == {"parent": [parent], "other": [parent]}
    assert got["object"]["context"]["contextActivities"] == {"category": [parent]}
    again = lrs.call("POST", "statements", None, sent)  # the same statement sent again
    assert again.status_code == 200


def test_format_ids_keeps_an_activity_by_its_id_alone(lrs):
    sent = statement(
        object={"objectType": "Activity", "id": ACTIVITY, "definition": {"name": {"en": "A"}}}
    )
    lrs.call("POST", "statements", None, sent)
    got = lrs.call("GET", "statements", {"statementId": sent["id"], "format": "ids"}).json()
    assert got["object"] == {"id": ACTIVITY}
    assert got["actor"] == {"objectType": "Agent", "mbox": "mailto:ann@example.edu"}


def test_format_canonical_keeps_the_asked_language_only(lrs):
    both = {"en-US": "US", "en-GB": "GB"}
    category = {"id": "http://example.com/cat", "definition": {"name": both, "description": both}}
    sent = statement(
        verb={"id": "http://example.com/v", "display": both},
        context={"contextActivities": {"category": category}},
    )
    lrs.call("POST", "statements", None, sent)
    one = {"statementId": sent["id"], "format": "canonical"}
    got = lrs.call("GET", "statements", one, **{"Accept-Language": "en-GB"}).json()
    assert got["verb"]["display"] == {"en-GB": "GB"}
    definition = got["context"]["contextActivities"]["category"][0]["definition"]
    assert definition == {"name": {"en-GB": "GB"}, "description": {"en-GB": "GB"}}
    exact = lrs.call("GET", "statements", {"statementId": sent["id"]}).json()
    assert exact["verb"]["display"] == both


def test_format_canonical_gives_the_definition_the_lrs_merged_not_the_statement_own(lrs):
    first = statement(
        object={"id": ACTIVITY, "definition": {"name": {"en-US": "Old", "fr": "Ancien"}}}
    )
    later = statement(object={"id": ACTIVITY, "definition": {"name": {"en-US": "New"}}})
    bare = statement(object={"id": ACTIVITY})  # names the activity, defines nothing
    lrs.call("POST", "statements", None, [first, later, bare])
    for sent in (first, bare):
        one = {"statementId": sent["id"], "format": "canonical"}
        got = lrs.call("GET", "statements", one, **{"Accept-Language": "en-US"}).json()
        assert got["object"]["definition"] == {"name": {"en-US": "New"}}
    query = lrs.call("GET", "statements", {"format": "canonical"}, **{"Accept-Language": "fr"})
    names = [s["object"]["definition"]["name"] for s in query.json()["statements"]]
    assert names == [{"fr": "Ancien"}] * 3
    exact = lrs.call("GET", "statements", {"statementId": bare["id"]}).json()
    assert "definition" not in exact["object"]


def test_more_pages_through_a_query_and_consistent_through_is_a_date(lrs):
    lrs.call("POST", "statements", None, [statement() for _ in range(3)])
    page = lrs.call("GET", "statements", {"limit": 2})
    assert page["X-Experience-API-Consistent-Through"][:4].isdigit()
    body = page.json()
    assert len(body["statements"]) == 2
    rest = lrs.client.get(body["more"], **lrs.headers()).json()
    assert len(rest["statements"]) == 1
    assert rest["more"] == ""


# --- data rules the suite pins down (Data 2.4.4, 4.6) ----------------------------------------


@pytest.mark.parametrize("where", ["statement", "substatement"])
def test_an_empty_definition_is_accepted(lrs, where):
    obj = {"objectType": "Activity", "id": ACTIVITY, "definition": {}}
    if where == "substatement":
        obj = {
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:bo@example.edu"},
            "verb": {"id": "http://example.com/v"},
            "object": obj,
        }
    assert lrs.call("POST", "statements", None, statement(object=obj)).status_code == 200


@pytest.mark.parametrize(
    "definition",
    [{"definition": "a string"}, {"definition": []}, {"definition": None}],
)
def test_a_definition_must_still_be_an_object(definition):
    problems = validate_statement(statement(object={"id": ACTIVITY, **definition}))
    assert problems


@pytest.mark.parametrize("kind", [{"key": "value"}, 12, ["choice"], "choiCe", "http://x.example/t"])
def test_an_interaction_type_that_is_not_one_of_the_ten_is_a_400_not_a_500(lrs, kind):
    obj = {"id": ACTIVITY, "definition": {"interactionType": kind}}
    response = lrs.call("POST", "statements", None, statement(object=obj))
    assert response.status_code == 400
    assert "interactionType" in response.json()["error"]


@pytest.mark.parametrize(
    ("duration", "ok"),
    [
        ("PT1H0M0.1S", True),
        ("PT4H35M59.14S", True),
        ("PT16559.14S", True),
        ("P3Y1M29DT4H35M59.14S", True),
        ("P3Y", True),
        ("P4W", True),
        ("P4W1D", False),
        ("P1DT", False),
        ("PA1H0M0S", False),
        ("should fail", False),
        ("12345", False),
    ],
)
def test_durations_follow_iso_8601_weeks_standing_alone(duration, ok):
    problems = validate_statement(statement(result={"duration": duration}))
    assert (problems == []) is ok, problems


def test_statement_ids_of_the_suites_uuid_form_round_trip(lrs):
    sent = statement(id=str(uuid.uuid4()).upper())
    assert lrs.call("PUT", "statements", {"statementId": sent["id"]}, sent).status_code == 204
    got = lrs.call("GET", "statements", {"statementId": sent["id"]}).json()
    assert got["id"] == sent["id"].lower()
