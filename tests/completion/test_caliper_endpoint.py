"""The Caliper endpoint over HTTP: status codes of the Caliper 1.1/1.2 endpoint rules, a result
per data item (one bad item never refuses the rest), conflicting duplicates reported, entity
describes updating names and titles, limits answered as documented."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from completion.models import Activity, CaliperEvent, Item
from lti_tool.keys import credentials
from lti_tool.models import Course, Deployment, Person
from lti_tool.services import upsert_membership, upsert_person
from tests.completion.caliper_samples import (
    ENTITIES,
    LEARNER,
    SECTION,
    V1P1,
    describe,
    envelope,
    event,
)


@pytest.fixture
def bearer(platform):
    deployment = Deployment.objects.get()
    course = Course.objects.create(deployment=deployment, context_id=SECTION["id"])
    person = upsert_person(deployment=deployment, sub=LEARNER["id"])
    upsert_membership(
        course=course,
        person=person,
        role="learner",
        lti_roles=[],
        status="active",
        at=timezone.now(),
        source="admin",
    )
    issued = credentials.issue_credential(
        deployment=deployment, kind="caliper", name="sensor", actor="t"
    )
    return f"Bearer {issued.key}.{issued.secret}"


def post(client, bearer, body, content_type="application/json"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(
        "/caliper/events", data, content_type=content_type, HTTP_AUTHORIZATION=bearer
    )


def statuses(response):
    return [r["status"] for r in response.json()["results"]]


def test_a_valid_envelope_is_stored_once_with_a_result_per_event(client, bearer):
    first, second = event("ViewEvent"), event("AssessmentEvent", "Submitted")
    response = post(client, bearer, envelope(first, second))
    assert response.status_code == 200
    body = response.json()
    assert (body["stored"], body["duplicate"], body["pending"]) == (2, 0, 0)
    assert statuses(response) == ["accepted", "accepted"]
    assert body["results"][0]["id"] == first["id"]
    again = post(client, bearer, envelope(first))
    assert statuses(again) == ["duplicate"]
    assert CaliperEvent.objects.count() == 2
    assert Activity.objects.count() == 2


def test_one_bad_event_does_not_refuse_the_others(client, bearer):
    good, bad = event("ViewEvent"), event("ViewEvent", "Danced")
    unknown = {**event("ViewEvent"), "type": "DanceEvent"}
    response = post(client, bearer, envelope(good, bad, unknown))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected"]
    assert "action" in results[1]["reason"]
    assert "DanceEvent" in results[2]["reason"]
    assert CaliperEvent.objects.count() == 1


def test_an_envelope_of_only_bad_events_is_400_with_the_reasons(client, bearer):
    response = post(client, bearer, envelope(event("ViewEvent", actor=ENTITIES["Document"])))
    assert response.status_code == 400
    assert response.json()["error"].startswith("data[0]: actor.type")
    assert not CaliperEvent.objects.exists()


def test_a_repeated_event_id_with_other_content_is_reported_not_dropped(client, bearer):
    sent = event("ViewEvent")
    post(client, bearer, envelope(sent))
    changed = {**sent, "eventTime": "2024-05-07T00:00:00.000Z"}
    response = post(client, bearer, envelope(changed))
    assert response.status_code == 409
    assert statuses(response) == ["conflict"]
    assert "other content" in response.json()["results"][0]["reason"]
    assert CaliperEvent.objects.get().payload == sent  # the first one is kept
    within = event("ViewEvent")
    twice = post(client, bearer, envelope(within, {**within, "eventTime": changed["eventTime"]}))
    assert statuses(twice) == ["accepted", "conflict"]  # within one envelope too


def test_entity_describes_update_names_and_titles(client, bearer):
    deployment = Deployment.objects.get()
    course = Course.objects.get()
    item = Item.objects.create(
        course=course, external_id=ENTITIES["Document"]["id"], title="old", source="caliper"
    )
    nameless = Person.objects.get(sub=LEARNER["id"])
    assert nameless.name == ""
    document = describe("Document", name="Week 3 reading")
    person = describe("Person", name="Ada Lovelace")
    named = upsert_person(deployment=deployment, sub="grace", name="Grace Hopper")
    renamed = describe("Person", id="https://school.example.org/people/grace", name="Someone")
    renamed["otherIdentifiers"] = [
        {"type": "SystemIdentifier", "identifier": "grace", "identifierType": "LtiUserId"}
    ]
    response = post(client, bearer, envelope(document, person, renamed, event("ViewEvent")))
    assert statuses(response) == ["described", "described", "described", "accepted"]
    item.refresh_from_db()
    assert item.title == "Week 3 reading"
    assert Person.objects.get(pk=nameless.pk).name == "Ada Lovelace"
    assert Person.objects.get(pk=named.pk).name == "Grace Hopper"  # a name it had is kept


def test_mixed_batches_of_1p1_and_every_entity_type_are_taken(client, bearer):
    items = [describe(kind) for kind in sorted(ENTITIES)]
    response = post(
        client, bearer, envelope(*items, event("ViewEvent", context=V1P1), version=V1P1)
    )
    assert response.status_code == 200
    assert set(statuses(response)) == {"described", "accepted"}


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("not json", "application/json", 400),
        ("[]", "application/json", 400),
        (json.dumps([event("ViewEvent")]), "application/json", 400),  # no envelope
        (json.dumps(envelope(event("ViewEvent"))), "text/plain", 415),
        (json.dumps(envelope(event("ViewEvent"), extra=True)), "application/json", 400),
        (
            json.dumps(envelope(event("ViewEvent"), version="http://x.example/v9")),
            "application/json",
            422,
        ),
        ('{"sensor": "a", "sensor": "b"}', "application/json", 400),
    ],
)
def test_envelope_level_refusals_follow_the_endpoint_rules(
    client, bearer, body, content_type, status
):
    response = post(client, bearer, body, content_type)
    assert response.status_code == status
    assert response.json()["error"]


def test_only_post_with_a_token_of_the_deployment(client, bearer):
    assert client.get("/caliper/events").status_code == 405
    assert post(client, "Bearer x.y", envelope(event("ViewEvent"))).status_code == 401
    assert post(client, "", envelope(event("ViewEvent"))).status_code == 401


def test_a_body_over_the_limit_is_413_as_json_even_between_django_and_our_limits(
    client, bearer, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_500_000
    padding = "x" * 3_000_000  # above Django's own limit, below the Caliper limit
    big = envelope(event("ViewEvent", extensions={"pad": padding}))
    assert post(client, bearer, big).status_code == 200
    settings.FINISHLINE = {**settings.FINISHLINE, "CALIPER_MAX_BODY": 1_000_000}
    response = post(client, bearer, big)
    assert response.status_code == 413
    assert "1000000 bytes" in response.json()["error"]
