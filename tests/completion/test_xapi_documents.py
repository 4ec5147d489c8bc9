"""xAPI's document resources over HTTP: State, Activity Profile, Agent Profile (Communication
2.2, 2.3, 2.6, 2.7), their concurrency control (3.1), and the Activities and Agents resources
(2.4, 2.5). Requirement groups of the ADL LRS conformance suite, in this project's own tests.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from completion.models import XapiDocument
from tests.completion.lrs import ACTIVITY, AGENT, Lrs, document, make_deployment, statement

STATE = "activities/state"
ACTIVITY_PROFILE = "activities/profile"
AGENT_PROFILE = "agents/profile"


@pytest.fixture
def lrs(db, client):
    return Lrs(client, make_deployment())


def state_params(**extra):
    return {"activityId": ACTIVITY, "agent": AGENT, "stateId": str(uuid.uuid4()), **extra}


def activity_profile_params(**extra):
    return {"activityId": ACTIVITY, "profileId": str(uuid.uuid4()), **extra}


def agent_profile_params(**extra):
    return {"agent": AGENT, "profileId": str(uuid.uuid4()), **extra}


RESOURCES = {
    STATE: state_params,
    ACTIVITY_PROFILE: activity_profile_params,
    AGENT_PROFILE: agent_profile_params,
}
CREATE = {"HTTP_IF_NONE_MATCH": "*"}


def create(lrs, path, params, body, content_type="application/json"):
    """A PUT that creates (profiles need If-None-Match: * for that)."""
    extra = {} if path == STATE else {"If-None-Match": "*"}
    return lrs.call("PUT", path, params, body, content_type, **extra)


# --- the lifecycle every document resource shares ---------------------------------------------


@pytest.mark.parametrize("path", list(RESOURCES))
def test_a_document_put_posted_read_listed_and_deleted(lrs, path):
    params = RESOURCES[path]()
    doc = document()
    assert create(lrs, path, params, doc).status_code == 204
    got = lrs.call("GET", path, params)
    assert got.status_code == 200
    assert got["Content-Type"] == "application/json"
    assert json.loads(got.content) == doc
    assert got["X-Experience-API-Version"] == "1.0.3"
    id_name = "stateId" if path == STATE else "profileId"
    listed = lrs.call("GET", path, {k: v for k, v in params.items() if k != id_name})
    assert listed.json() == [params[id_name]]
    assert lrs.call("DELETE", path, params).status_code == 204
    assert lrs.call("GET", path, params).status_code == 404
    posted = RESOURCES[path]()
    assert lrs.call("POST", path, posted, doc).status_code == 204  # POST creates too
    assert lrs.call("GET", path, posted).json() == doc


@pytest.mark.parametrize("path", list(RESOURCES))
def test_any_content_comes_back_byte_for_byte_with_its_type(lrs, path):
    params = RESOURCES[path]()
    body = "/ asdf / undefined"
    assert create(lrs, path, params, body, "application/octet-stream").status_code == 204
    got = lrs.call("GET", path, params)
    assert (got.content, got["Content-Type"]) == (body.encode(), "application/octet-stream")


@pytest.mark.parametrize("path", list(RESOURCES))
def test_post_merges_json_objects_top_level_properties_replaced(lrs, path):
    params = RESOURCES[path]()
    assert lrs.call("POST", path, params, {"car": "Honda", "seats": 5}).status_code == 204
    assert lrs.call("POST", path, params, {"type": "Civic", "car": "MKZ"}).status_code == 204
    assert lrs.call("GET", path, params).json() == {"car": "MKZ", "seats": 5, "type": "Civic"}
    nested = {"car": {"make": "Ford", "model": "Mustang"}, "series": {"nascar": {"year": 1}}}
    again = {"car": {"make": "Dodge"}, "series": {"nascar": {"year": 2}}}
    other = RESOURCES[path]()
    lrs.call("POST", path, other, nested)
    lrs.call("POST", path, other, again)
    assert lrs.call("GET", path, other).json() == again  # shallow: whole values replaced


@pytest.mark.parametrize("path", list(RESOURCES))
@pytest.mark.parametrize(
    ("first", "second"),
    [
        # a non-JSON body over a JSON document
        (("application/json", '{"a": 1}'), ("application/octet-stream", "abcdefg")),
        (("application/json", '{"a": 1}'), ("application/x-www-form-urlencoded", "abc")),
        (("application/json", '{"a": 1}'), ("not/json", "abc")),
        # a JSON body over a document that is not JSON
        (("application/octet-stream", "/ asdf / undefined"), ("application/json", '{"b": 2}')),
        # JSON that does not parse as an object
        (("application/json", '{"a": 1}'), ("application/json", '{"b": 2}{')),
        (("application/json", '{"a": 1}'), ("application/json", '{"b": 2}[')),
        (("application/json", '{"a": 1}'), ("application/json", "[1, 2]")),
    ],
)
def test_a_refused_post_is_400_and_leaves_the_document_as_it_was(lrs, path, first, second):
    params = RESOURCES[path]()
    assert create(lrs, path, params, first[1], first[0]).status_code == 204
    response = lrs.call("POST", path, params, second[1], second[0])
    assert response.status_code == 400
    assert response.json()["error"]
    assert lrs.call("GET", path, params).content == first[1].encode()


@pytest.mark.parametrize("path", list(RESOURCES))
def test_post_of_broken_json_or_nothing_is_refused_even_without_a_document(lrs, path):
    params = RESOURCES[path]()
    assert lrs.call("POST", path, params, '{"a": 1}{').status_code == 400
    assert lrs.call("POST", path, params, "").status_code == 400
    assert lrs.call("GET", path, params).status_code == 404


@pytest.mark.parametrize("path", list(RESOURCES))
def test_lists_filter_by_since(lrs, path):
    params = RESOURCES[path]()
    id_name = "stateId" if path == STATE else "profileId"
    scope = {k: v for k, v in params.items() if k != id_name}
    before = (timezone.now() - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    create(lrs, path, params, document())
    assert lrs.call("GET", path, {**scope, "since": before}).json() == [params[id_name]]
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert lrs.call("GET", path, {**scope, "since": later}).json() == []
    for bad in ("true", "1", "not a timestamp"):
        assert lrs.call("GET", path, {**scope, "since": bad}).status_code == 400
    # since with an id is ignored: the document comes back
    assert lrs.call("GET", path, {**params, "since": before}).status_code == 200


# --- parameters each resource requires and refuses --------------------------------------------


@pytest.mark.parametrize("path", [STATE, ACTIVITY_PROFILE])
@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
def test_activity_id_is_required_and_must_be_an_iri(lrs, path, method):
    params = RESOURCES[path]()
    del params["activityId"]
    headers = {"If-None-Match": "*"} if method == "PUT" else {}
    assert lrs.call(method, path, params, document(), **headers).status_code == 400
    for bad in (1, "true", {"key": "value"}, "x" * 20):
        response = lrs.call(method, path, {**params, "activityId": bad}, document(), **headers)
        assert response.status_code == 400


@pytest.mark.parametrize("path", [STATE, AGENT_PROFILE])
@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
@pytest.mark.parametrize(
    "agent",
    [
        None,
        "not JSON",
        "true",
        {"objectType": "Agent", "name": "No IFI"},
        '{"objectType""Agent","account"{"homePage":"http://x.example","name":"r"}}',
        {"objectType": "Agent", "mbox": "mailto:a@example.edu", "openid": "http://a.example"},
    ],
)
def test_agent_is_required_and_must_be_an_agent_with_one_ifi(lrs, path, method, agent):
    params = RESOURCES[path]()
    if agent is None:
        del params["agent"]
    else:
        params["agent"] = agent
    headers = {"If-None-Match": "*"} if method == "PUT" else {}
    response = lrs.call(method, path, params, document(), **headers)
    assert response.status_code == 400
    assert not XapiDocument.objects.exists()


@pytest.mark.parametrize("path", list(RESOURCES))
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_writes_need_the_document_id(lrs, path, method):
    params = RESOURCES[path]()
    del params["stateId" if path == STATE else "profileId"]
    headers = {"If-None-Match": "*"} if method == "PUT" else {}
    assert lrs.call(method, path, params, document(), **headers).status_code == 400


def test_a_profile_delete_needs_the_profile_id(lrs):
    for path in (ACTIVITY_PROFILE, AGENT_PROFILE):
        params = RESOURCES[path]()
        del params["profileId"]
        assert lrs.call("DELETE", path, params).status_code == 400
    assert lrs.call("DELETE", ACTIVITY_PROFILE, activity_profile_params()).status_code == 204


@pytest.mark.parametrize("path", list(RESOURCES))
@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
def test_unknown_or_wrongly_cased_parameters_are_refused(lrs, path, method):
    params = RESOURCES[path]()
    headers = {"If-None-Match": "*"} if method == "PUT" else {}
    for extra in ({"foo": "bar"}, {"ActivityId": ACTIVITY}, {"Agent": json.dumps(AGENT)}):
        response = lrs.call(method, path, {**params, **extra}, document(), **headers)
        assert response.status_code == 400, extra
        assert "parameter" in response.json()["error"]
    if method != "GET":  # since is for GET only
        assert (
            lrs.call(method, path, {**params, "since": "2020-01-01T00:00:00Z"}).status_code == 400
        )


# --- State ----------------------------------------------------------------------------------


def test_state_is_kept_per_registration(lrs):
    registration = str(uuid.uuid4())
    with_it = state_params(registration=registration)
    without = {k: v for k, v in with_it.items() if k != "registration"}
    assert lrs.call("PUT", STATE, with_it, {"n": 1}).status_code == 204
    assert lrs.call("POST", STATE, with_it, {"m": 2}).status_code == 204
    assert lrs.call("GET", STATE, with_it).json() == {"n": 1, "m": 2}
    assert lrs.call("GET", STATE, without).status_code == 404
    for method in ("GET", "PUT", "POST", "DELETE"):
        bad = lrs.call(method, STATE, {**with_it, "registration": "true"}, {"x": 1})
        assert bad.status_code == 400
    assert lrs.call("DELETE", STATE, with_it).status_code == 204
    assert lrs.call("GET", STATE, with_it).status_code == 404


def test_state_delete_without_state_id_deletes_the_whole_set(lrs):
    one, two = state_params(), state_params()
    other_agent = state_params(agent={"mbox": "mailto:bo@example.edu"})
    for params in (one, two, other_agent):
        assert lrs.call("PUT", STATE, params, document()).status_code == 204
    scope = {"activityId": ACTIVITY, "agent": AGENT}
    assert sorted(lrs.call("GET", STATE, scope).json()) == sorted([one["stateId"], two["stateId"]])
    assert lrs.call("DELETE", STATE, scope).status_code == 204
    assert lrs.call("GET", STATE, scope).json() == []
    assert lrs.call("GET", STATE, other_agent).status_code == 200


def test_state_put_needs_no_precondition_but_honours_one(lrs):
    params = state_params()
    assert lrs.call("PUT", STATE, params, {"v": 1}).status_code == 204
    assert lrs.call("PUT", STATE, params, {"v": 2}).status_code == 204  # replaced
    bad = '"' + "1" * 40 + '"'
    assert lrs.call("PUT", STATE, params, {"v": 3}, **{"If-Match": bad}).status_code == 412
    assert lrs.call("GET", STATE, params).json() == {"v": 2}


def test_agents_are_matched_by_identifier_not_name(lrs):
    params = state_params()
    lrs.call("PUT", STATE, params, {"v": 1})
    renamed = {**params, "agent": {**AGENT, "name": "Another name"}}
    assert lrs.call("GET", STATE, renamed).json() == {"v": 1}


# --- concurrency (Communication 3.1) ----------------------------------------------------------


@pytest.mark.parametrize("path", list(RESOURCES))
def test_get_answers_a_quoted_sha1_etag_of_the_stored_bytes(lrs, path):
    params = RESOURCES[path]()
    body = json.dumps(document())
    create(lrs, path, params, body)
    etag = lrs.call("GET", path, params)["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{40}"', etag)
    assert etag.strip('"') == hashlib.sha1(body.encode()).hexdigest()
    assert lrs.call("HEAD", path, params)["ETag"] == etag


@pytest.mark.parametrize("path", [ACTIVITY_PROFILE, AGENT_PROFILE])
def test_profile_puts_follow_if_match_and_if_none_match(lrs, path):
    params = RESOURCES[path]()
    fresh = lrs.call("PUT", path, params, {"v": 0})
    assert fresh.status_code == 400  # neither header, no document
    assert lrs.call("PUT", path, params, {"v": 1}, **{"If-None-Match": "*"}).status_code == 204
    assert lrs.call("PUT", path, params, {"v": 2}, **{"If-None-Match": "*"}).status_code == 412
    conflict = lrs.call("PUT", path, params, {"v": 2})
    assert conflict.status_code == 409
    assert "If-Match" in conflict.json()["error"]
    good = lrs.call("GET", path, params)["ETag"]
    bad = '"' + "1" * 40 + '"'
    assert lrs.call("PUT", path, params, {"v": 3}, **{"If-Match": bad}).status_code == 412
    assert lrs.call("GET", path, params).json() == {"v": 1}
    assert lrs.call("PUT", path, params, {"v": 4}, **{"If-Match": good}).status_code == 204
    weak = "W/" + lrs.call("GET", path, params)["ETag"]
    assert lrs.call("PUT", path, params, {"v": 5}, **{"If-Match": weak}).status_code == 204
    assert lrs.call("GET", path, params).json() == {"v": 5}


def test_post_and_delete_honour_if_match_when_sent(lrs):
    params = agent_profile_params()
    create(lrs, AGENT_PROFILE, params, {"a": 1})
    bad = '"' + "2" * 40 + '"'
    assert lrs.call("POST", AGENT_PROFILE, params, {"b": 1}, **{"If-Match": bad}).status_code == 412
    assert lrs.call("DELETE", AGENT_PROFILE, params, **{"If-Match": bad}).status_code == 412
    assert lrs.call("GET", AGENT_PROFILE, params).json() == {"a": 1}


# --- tenancy ----------------------------------------------------------------------------------


def test_documents_belong_to_the_credentials_deployment(lrs, client):
    other = Lrs(client, make_deployment("https://other.example.edu"))
    params = state_params()
    lrs.call("PUT", STATE, params, {"mine": True})
    assert other.call("GET", STATE, params).status_code == 404
    assert other.call("GET", STATE, {"activityId": ACTIVITY, "agent": AGENT}).json() == []
    assert other.call("PUT", STATE, params, {"theirs": True}).status_code == 204
    assert lrs.call("GET", STATE, params).json() == {"mine": True}


# --- Activities and Agents resources -----------------------------------------------------------


def test_activities_returns_the_definition_merged_from_statements(lrs):
    first = statement(
        object={
            "id": ACTIVITY,
            "definition": {
                "name": {"en-GB": "Set", "en-US": "Set (US)"},
                "description": {"en-GB": "d"},
                "type": "http://adlnet.gov/expapi/activities/assessment",
                "moreInfo": "http://example.com/more",
                "extensions": {"http://example.com/ext": 1},
            },
        }
    )
    second = statement(object={"id": ACTIVITY, "definition": {"name": {"fr-FR": "Ensemble"}}})
    assert lrs.call("POST", "statements", None, [first, second]).status_code == 200
    got = lrs.call("GET", "activities", {"activityId": ACTIVITY}).json()
    assert got == {
        "objectType": "Activity",
        "id": ACTIVITY,
        "definition": {
            **first["object"]["definition"],
            "name": {"en-GB": "Set", "en-US": "Set (US)", "fr-FR": "Ensemble"},
        },
    }
    unknown = "http://example.com/never-seen"
    assert lrs.call("GET", "activities", {"activityId": unknown}).json() == {
        "objectType": "Activity",
        "id": unknown,
    }
    assert lrs.call("GET", "activities").status_code == 400
    assert lrs.call("GET", "activities", {"activityId": ACTIVITY, "x": "1"}).status_code == 400


def test_context_activities_and_substatements_define_activities_too(lrs):
    parent = "http://example.com/course"
    sub = statement(
        object={
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:bo@example.edu"},
            "verb": {"id": "http://example.com/v"},
            "object": {"id": "http://example.com/inner", "definition": {"name": {"en": "I"}}},
        },
        context={
            "contextActivities": {
                "parent": {"id": parent, "definition": {"type": "http://x.example/t"}}
            }
        },
    )
    assert lrs.call("POST", "statements", None, sub).status_code == 200
    got = lrs.call("GET", "activities", {"activityId": parent}).json()
    assert got["definition"] == {"type": "http://x.example/t"}
    inner = lrs.call("GET", "activities", {"activityId": "http://example.com/inner"}).json()
    assert inner["definition"] == {"name": {"en": "I"}}


def test_agents_returns_a_person_with_every_property_an_array(lrs):
    mbox = {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.edu"}
    lrs.call("POST", "statements", None, statement(actor={**mbox, "name": "Ann Smith"}))
    person = lrs.call("GET", "agents", {"agent": mbox}).json()
    assert person == {
        "objectType": "Person",
        "name": ["Ann", "Ann Smith"],
        "mbox": ["mailto:ann@example.edu"],
    }
    for ifi, value in (
        ("mbox_sha1sum", "f" * 40),
        ("openid", "http://openid.example.org/ann"),
        ("account", {"homePage": "http://www.example.com", "name": "ann"}),
    ):
        got = lrs.call("GET", "agents", {"agent": {"objectType": "Agent", ifi: value}}).json()
        assert got == {"objectType": "Person", ifi: [value]}
    assert lrs.call("GET", "agents").status_code == 400
    no_ifi = {"objectType": "Agent", "name": "Nobody"}
    assert lrs.call("GET", "agents", {"agent": no_ifi}).status_code == 400


@pytest.mark.parametrize("path", ["activities", "agents"])
def test_activities_and_agents_only_read(lrs, path):
    params = {"activityId": ACTIVITY} if path == "activities" else {"agent": AGENT}
    for method in ("PUT", "POST", "DELETE"):
        response = lrs.call(method, path, params, {})
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD"
