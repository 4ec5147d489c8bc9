from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from django.core.management import call_command

from completion.models import Activity
from lti_tool.models import Course, Deployment
from lti_tool.services import upsert_membership, upsert_person
from tests.completion.test_caliper import envelope, event
from tests.platform.server import Response


def test_subscription_is_created_with_an_advantage_token_and_its_url_works(client, platform):
    deployment = Deployment.objects.get()
    course = Course.objects.create(deployment=deployment, context_id="ctx-42")
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
    received = []

    def subscriptions(request):
        received.append((request.headers["authorization"], request.json()))
        return Response(201, {"id": "sub-1", **request.json()["subscription"]})

    platform.route("POST", "/api/lti/subscriptions", subscriptions)
    call_command(
        "subscribe_live_events", "--course", str(course.pk), "--api-base", platform.base_url
    )
    ((auth, body),) = received
    assert auth.startswith("Bearer at-")
    assert (
        platform.issued_tokens[-1]["scope"]
        == "https://canvas.instructure.com/lti/data_services/scope/create"
    )
    sub = body["subscription"]
    assert (sub["ContextId"], sub["ContextType"], sub["Format"], sub["TransportType"]) == (
        "ctx-42",
        "course",
        "caliper",
        "https",
    )
    url = urlsplit(sub["TransportMetadata"]["Url"])
    assert url.path == "/caliper/events"
    token = parse_qs(url.query)["token"][0]
    response = client.post(
        f"/caliper/events?token={token}",
        json.dumps(envelope(event(1))),
        content_type="application/json",
    )
    assert response.json()["stored"] == 1
    assert Activity.objects.count() == 1
