"""Caliper 1.1/1.2 envelopes and Canvas's signed Live Events into the event store."""

from __future__ import annotations

import copy
import json

import pytest

from completion.ingest.caliper.envelopes import to_event, validate_envelope
from completion.models import Activity, CaliperEvent, PendingActivity
from lti_tool.keys import credentials
from lti_tool.models import Course, Deployment
from lti_tool.services import upsert_membership, upsert_person
from tests.platform.server import Response

V1P1 = "http://purl.imsglobal.org/ctx/caliper/v1p1"
LTI_CONTEXT = {"https://purl.imsglobal.org/spec/lti/claim/context": {"id": "ctx-42"}}


def event(n, kind="ViewEvent", action="Viewed", time="2026-03-02T10:00:00.000Z", **extra):
    return {
        "@context": V1P1,
        "id": f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
        "type": kind,
        "action": action,
        "eventTime": time,
        "actor": {
            "id": "urn:instructure:canvas:user:21070000000000001",
            "type": "Person",
            "extensions": {
                "com.instructure.canvas": {
                    "user_login": "ann@example.edu",
                    "entity_id": "21070000000000001",
                }
            },
        },
        "object": {"id": "urn:instructure:canvas:wikiPage:7", "type": "Page", "name": "Week 1"},
        "group": {"id": "urn:instructure:canvas:course:42", "type": "CourseOffering"},
        "federatedSession": {
            "id": "urn:uuid:s",
            "type": "LtiSession",
            "messageParameters": {"user_id": "ann", **LTI_CONTEXT},
        },
        **extra,
    }


def envelope(*events):
    return {
        "sensor": "https://canvas.example.edu",
        "sendTime": "2026-03-02T10:00:05.000Z",
        "dataVersion": V1P1,
        "data": list(events),
    }


def test_supported_event_types_map_to_verbs():
    cases = [
        ("SessionEvent", "LoggedIn", "logged_in"),
        ("NavigationEvent", "NavigatedTo", "viewed"),
        ("AssessmentEvent", "Submitted", "submitted"),
        ("AssessmentItemEvent", "Completed", "progressed"),
        ("GradeEvent", "Graded", "submitted"),
        ("ForumEvent", "Subscribed", "other"),
        ("MessageEvent", "Posted", "posted"),
        ("MediaEvent", "Ended", "completed"),
        ("ToolUseEvent", "Used", "launched"),
    ]
    for n, (kind, action, verb) in enumerate(cases):
        e = event(n, kind, action)
        assert validate_envelope(envelope(e)) == []
        mapped = to_event(e)
        assert (mapped.verb, mapped.course_key, mapped.actor.sub) == (verb, "ctx-42", "ann")


def test_grade_events_carry_the_score():
    e = event(
        1, "GradeEvent", "Graded", generated={"type": "Score", "scoreGiven": 8, "maxScore": 10}
    )
    assert to_event(e).score == 0.8


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"type": "DanceEvent"}, "not a supported"),
        ({"action": "Viewed", "type": "SessionEvent"}, "not allowed for SessionEvent"),
        ({"id": "42"}, "urn:uuid"),
        ({"eventTime": "yesterday"}, "eventTime"),
        ({"actor": None}, "actor"),
    ],
)
def test_malformed_events_are_named(change, problem):
    e = {**event(1), **change}
    problems = validate_envelope(envelope(e))
    assert any(problem in p for p in problems), problems


def test_malformed_envelope_is_refused():
    assert validate_envelope({"data": []})[0].startswith("sensor")
    bad = envelope(event(1))
    bad["dataVersion"] = "http://example.com/v9"
    assert any("dataVersion" in p for p in validate_envelope(bad))


@pytest.fixture
def bearer(platform):
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
    issued = credentials.issue_credential(
        deployment=deployment, kind="caliper", name="Canvas", actor="t"
    )
    return f"Bearer {issued.key}.{issued.secret}"


def post(client, bearer, body, content_type="application/json"):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(
        "/caliper/events", data, content_type=content_type, HTTP_AUTHORIZATION=bearer
    )


def test_envelope_events_are_stored_once_in_any_order(client, bearer):
    late, early = event(2, time="2026-03-03T10:00:00Z"), event(1, time="2026-03-01T10:00:00Z")
    assert post(client, bearer, envelope(late, early)).json() == {
        "stored": 2,
        "duplicate": 0,
        "pending": 0,
    }
    assert post(client, bearer, envelope(early)).json()["duplicate"] == 1
    assert CaliperEvent.objects.count() == 2
    times = sorted(a.occurred_at.day for a in Activity.objects.all())
    assert times == [1, 3]


def test_bad_envelope_is_rejected_whole(client, bearer):
    response = post(client, bearer, envelope(event(1), {**event(2), "type": "DanceEvent"}))
    assert response.status_code == 400
    assert "data[1]" in response.json()["error"]
    assert not CaliperEvent.objects.exists()


def test_wrong_token_and_unknown_learners(client, bearer):
    assert post(client, "Bearer x.y", envelope(event(1))).status_code == 401
    stranger = copy.deepcopy(event(3))
    stranger["federatedSession"]["messageParameters"]["user_id"] = "newcomer"
    stranger["actor"]["extensions"]["com.instructure.canvas"] = {}
    assert post(client, bearer, envelope(stranger)).json()["pending"] == 1
    assert PendingActivity.objects.count() == 1


def test_canvas_signed_live_events_are_verified_against_the_published_keys(
    client, bearer, platform, settings
):
    settings.FINISHLINE = {
        **settings.FINISHLINE,
        "CANVAS_LIVE_EVENTS_JWKS_URL": platform.base_url + "/live-jwks",
    }
    platform.route("GET", "/live-jwks", lambda r: Response(body=platform.jwks()))
    token = platform.sign(envelope(event(5)))
    assert post(client, bearer, token, content_type="application/jwt").json()["stored"] == 1
    from cryptography.hazmat.primitives.asymmetric import rsa

    forged = platform.sign(
        envelope(event(6)),
        key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        kid=platform.keys[-1][0],
    )
    assert post(client, bearer, forged, content_type="application/jwt").status_code == 401
