"""Canvas Live Events (Caliper format) into the event store: every type of the default
subscription stored once, on the right learner and course, matched by the Canvas ids launches
store; signed deliveries checked; the Data Services subscription. Payloads are shaped as
Canvas's data-services documentation shows them, written out here in this project's words."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command

from completion.events.store import match_pending
from completion.ingest.caliper.canvas_subscriptions import DEFAULT_EVENTS
from completion.models import Activity, CaliperEvent, PendingActivity
from lti_tool.keys import credentials
from lti_tool.models import Course, Deployment, Person
from lti_tool.registration.dynamic import PlatformConfiguration, tool_registration
from tests.platform.launcher import launch
from tests.platform.server import LTI, Response

HOST = "https://canvas.example.edu/"
SHARD = 2107 * 10**13
CUSTOM = LTI + "custom"


def gid(local: int) -> str:
    return str(SHARD + local)


def person(local: int, **ext):
    return {
        "id": f"urn:instructure:canvas:user:{gid(local)}",
        "type": "Person",
        "extensions": {
            "com.instructure.canvas": {
                "entity_id": gid(local),
                "root_account_uuid": "root-uuid",
                **ext,
            }
        },
    }


COURSE = {
    "id": f"urn:instructure:canvas:course:{gid(565)}",
    "type": "CourseOffering",
    "extensions": {"com.instructure.canvas": {"context_type": "Course", "entity_id": gid(565)}},
}
ASSIGNMENT = {
    "id": f"urn:instructure:canvas:assignment:{gid(77)}",
    "type": "AssignableDigitalResource",
    "name": "Essay 1",
}


def canvas_event(kind, action, actor, obj, *, group=True, **extra):
    body = {
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": kind,
        "action": action,
        "actor": actor,
        "object": obj,
        "eventTime": "2024-03-04T05:06:07.000Z",
        "edApp": {"id": HOST, "type": "SoftwareApplication"},
        "session": {"id": "urn:instructure:canvas:session:abc", "type": "Session"},
        "extensions": {"com.instructure.canvas": {"hostname": "canvas.example.edu"}},
        **extra,
    }
    if group:
        body["group"] = COURSE
    return body


def attempt(local_submission, learner, assignable):
    return {
        "id": f"urn:instructure:canvas:submission:{gid(local_submission)}",
        "type": "Attempt",
        "assignee": learner,
        "assignable": assignable,
        "count": 1,
        "body": "My essay",  # not a Caliper property: Canvas sends it
        "extensions": {"com.instructure.canvas": {"submission_type": "online_text_entry"}},
    }


ADA, IVY = person(1, user_login="ada@example.edu"), person(2)
SHAPES = {
    "asset_accessed": lambda: canvas_event(
        "NavigationEvent",
        "NavigatedTo",
        ADA,
        {
            **ASSIGNMENT,
            "type": "Entity",  # Canvas's generic entity, outside the spec
            "extensions": {
                "com.instructure.canvas": {"asset_type": "assignment", "asset_name": "Essay 1"}
            },
        },
    ),
    "logged_in": lambda: canvas_event(
        "SessionEvent", "LoggedIn", ADA, {"id": HOST, "type": "SoftwareApplication"}, group=False
    ),
    "logged_out": lambda: canvas_event(
        "SessionEvent", "LoggedOut", ADA, {"id": HOST, "type": "SoftwareApplication"}, group=False
    ),
    "submission_created": lambda: canvas_event(
        "AssignableEvent", "Submitted", ADA, attempt(9, ADA, ASSIGNMENT), group=False
    ),
    "submission_updated": lambda: canvas_event(
        "AssignableEvent", "Submitted", ADA, attempt(9, ADA, ASSIGNMENT), group=False
    ),
    "grade_change": lambda: canvas_event(
        "GradeEvent",
        "Graded",
        IVY,  # the grader
        {
            **attempt(9, {"id": ADA["id"], "type": "Person"}, ASSIGNMENT),
            "extensions": {"com.instructure.canvas": {"grade": "8"}},
        },
        generated={
            "id": f"urn:instructure:canvas:submission:{gid(9)}",
            "type": "Score",
            "maxScore": 10,
            "scoreGiven": 8,
            "scoredBy": IVY["id"],
        },
        membership={
            "id": f"urn:instructure:canvas:course:{gid(565)}:Instructor:{gid(2)}",
            "type": "Membership",
            "member": IVY,
            "organization": COURSE,
            "roles": ["Instructor"],
        },
    ),
    "quiz_submitted": lambda: canvas_event(
        "AssessmentEvent",
        "Submitted",
        ADA,
        attempt(
            10,
            ADA,
            {"id": f"urn:instructure:canvas:quiz:{gid(5)}", "type": "Assessment", "name": "Q1"},
        ),
    ),
    "discussion_entry_created": lambda: canvas_event(
        "MessageEvent",
        "Posted",
        ADA,
        {
            "id": "urn:instructure:canvas:discussionEntry:2134567",
            "type": "Message",
            "body": "<p>hi</p>",
            "isPartOf": {"id": "urn:instructure:canvas:discussion:123456", "type": "Thread"},
        },
    ),
    "discussion_topic_created": lambda: canvas_event(
        "ThreadEvent",
        "Created",  # not a Caliper ThreadEvent action: Canvas sends it
        ADA,
        {
            "id": "urn:instructure:canvas:discussion:123457",
            "type": "Thread",
            "name": "Introductions",
            "extensions": {"com.instructure.canvas": {"is_announcement": False}},
        },
    ),
    "wiki_page_updated": lambda: canvas_event(
        "Event",
        "Modified",
        IVY,
        {"id": f"urn:instructure:canvas:wikiPage:{gid(33)}", "type": "Page", "name": "Week 1"},
    ),
}


@pytest.fixture
def canvas(client, platform):
    """A Canvas course with a learner and a teacher who launched (their Canvas ids stored)."""
    for sub, role, local in (("ada-lti", "Learner", 1), ("ivy-lti", "Instructor", 2)):
        body = {CUSTOM: {"canvas_course_id": "565", "canvas_user_id": str(local)}}
        response = launch(client, platform, sub=sub, role=role, body_overrides=body)
        assert response.status_code == 200
    issued = credentials.issue_credential(
        deployment=Deployment.objects.get(), kind="caliper", name="Canvas", actor="t"
    )
    return f"{issued.key}.{issued.secret}"


def deliver(client, token, *events, content_type="application/json"):
    body = {
        "sensor": HOST,
        "sendTime": "2024-03-04T05:06:08.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "data": list(events),
    }
    data = body if content_type == "application/json" else events[0]
    return client.post(
        f"/caliper/events?token={token}",
        json.dumps(data) if isinstance(data, dict) else data,
        content_type=content_type,
    )


def test_launches_store_canvas_ids_from_custom_parameters(canvas):
    assert Course.objects.get().canvas_course_id == "565"
    assert Person.objects.get(sub="ada-lti").canvas_user_id == "1"
    assert Person.objects.get(sub="ivy-lti").canvas_user_id == "2"


def test_the_canvas_registration_asks_for_the_ids(db):
    config = PlatformConfiguration(
        issuer="https://canvas.example.edu",
        authorization_endpoint="https://canvas.example.edu/auth",
        token_endpoint="https://canvas.example.edu/token",
        jwks_uri="https://canvas.example.edu/jwks",
        registration_endpoint="https://canvas.example.edu/register",
        product_family_code="canvas",
        raw={},
    )
    params = tool_registration(config)["https://purl.imsglobal.org/spec/lti-tool-configuration"][
        "custom_parameters"
    ]
    assert params == {"canvas_course_id": "$Canvas.course.id", "canvas_user_id": "$Canvas.user.id"}


def test_every_subscribed_type_has_a_shape_here():
    assert set(SHAPES) == set(DEFAULT_EVENTS)


@pytest.mark.parametrize(
    ("name", "verb", "who"),
    [
        ("asset_accessed", "viewed", "ada-lti"),
        ("quiz_submitted", "submitted", "ada-lti"),
        ("discussion_entry_created", "posted", "ada-lti"),
        ("discussion_topic_created", "posted", "ada-lti"),
        ("grade_change", "submitted", "ada-lti"),  # the student graded, not the grader
        ("wiki_page_updated", "other", "ivy-lti"),  # staff editing: not learner engagement
    ],
)
def test_each_type_is_stored_once_on_the_right_learner_and_course(client, canvas, name, verb, who):
    sent = SHAPES[name]()
    response = deliver(client, canvas, sent)
    assert response.status_code == 200, response.json()
    assert response.json()["results"][0]["status"] == "accepted"
    assert deliver(client, canvas, sent).json()["results"][0]["status"] == "duplicate"
    activity = Activity.objects.get(source="caliper")
    assert (activity.verb, activity.person.sub) == (verb, who)
    assert activity.course == Course.objects.get()
    assert CaliperEvent.objects.count() == 1


def test_a_grade_change_carries_the_score_and_names_the_assignment(client, canvas):
    deliver(client, canvas, SHAPES["grade_change"]())
    activity = Activity.objects.get(source="caliper")
    assert activity.score == 0.8
    assert activity.item.external_id == ASSIGNMENT["id"]
    assert activity.item.title == "Essay 1"


def test_submissions_without_a_course_find_it_through_the_assignment(client, canvas):
    submitted = SHAPES["submission_created"]()
    first = deliver(client, canvas, submitted)
    assert first.json()["pending"] == 1  # the assignment is not known yet
    deliver(client, canvas, SHAPES["asset_accessed"]())  # now it is, in course 565
    match_pending(deployment=Deployment.objects.get())
    assert not PendingActivity.objects.exists()
    stored = Activity.objects.get(verb="submitted")
    assert (stored.person.sub, stored.course, stored.item.external_id) == (
        "ada-lti",
        Course.objects.get(),
        ASSIGNMENT["id"],
    )
    updated = deliver(client, canvas, SHAPES["submission_updated"]())
    assert updated.json()["stored"] == 1


def test_logins_count_in_each_course_of_the_learner(client, canvas):
    response = deliver(client, canvas, SHAPES["logged_in"](), SHAPES["logged_out"]())
    assert response.json()["stored"] == 2
    caliper = Activity.objects.filter(source="caliper")
    assert sorted(caliper.values_list("verb", flat=True)) == ["logged_in", "logged_out"]


def test_a_login_of_someone_on_no_roster_is_kept_and_says_so(client, canvas):
    stranger = canvas_event(
        "SessionEvent",
        "LoggedIn",
        person(99),
        {"id": HOST, "type": "SoftwareApplication"},
        group=False,
    )
    result = deliver(client, canvas, stranger).json()["results"][0]
    assert result["status"] == "no_course"
    assert "no roster" in result["reason"]
    assert CaliperEvent.objects.count() == 1
    assert not Activity.objects.filter(source="caliper").exists()


def test_events_of_people_not_seen_yet_wait_and_land_after_their_launch(client, canvas, platform):
    newcomer = person(3)
    sent = canvas_event("NavigationEvent", "NavigatedTo", newcomer, ASSIGNMENT)
    assert deliver(client, canvas, sent).json()["pending"] == 1
    body = {CUSTOM: {"canvas_course_id": "565", "canvas_user_id": "3"}}
    launch(client, platform, sub="cy-lti", body_overrides=body)  # matches pending events
    assert Activity.objects.filter(person__sub="cy-lti", source="caliper").count() == 1


def test_software_actors_name_no_learner(client, canvas):
    system = canvas_event(
        "NavigationEvent", "NavigatedTo", {"id": HOST, "type": "SoftwareApplication"}, ASSIGNMENT
    )
    response = deliver(client, canvas, system)
    assert response.json()["results"][0]["status"] == "no_learner"
    assert CaliperEvent.objects.count() == 1
    assert not Activity.objects.filter(source="caliper").exists()


# --- signed deliveries ----------------------------------------------------------------------------


@pytest.fixture
def signing(platform, settings):
    settings.FINISHLINE = {
        **settings.FINISHLINE,
        "CANVAS_LIVE_EVENTS_JWKS_URL": platform.base_url + "/live-jwks",
    }
    platform.route("GET", "/live-jwks", lambda r: Response(body=platform.jwks()))
    return platform


def signed_envelope(platform, *events, **claims):
    body = {
        "sensor": HOST,
        "sendTime": "2024-03-04T05:06:08.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "data": list(events),
        **claims,
    }
    return body


def test_signed_deliveries_are_verified_and_unsigned_ones_refused_when_required(
    client, canvas, signing, settings
):
    token = signing.sign(signed_envelope(signing, SHAPES["asset_accessed"]()))
    response = deliver(client, canvas, token, content_type="application/jwt")
    assert response.status_code == 200, response.json()
    forged = signing.sign(
        signed_envelope(signing, SHAPES["logged_in"]()),
        key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        kid=signing.keys[-1][0],
    )
    assert deliver(client, canvas, forged, content_type="application/jwt").status_code == 401
    settings.FINISHLINE = {**settings.FINISHLINE, "CANVAS_LIVE_EVENTS_REQUIRE_SIGNED": True}
    assert deliver(client, canvas, SHAPES["logged_in"]()).status_code == 401
    assert Activity.objects.filter(source="caliper").count() == 1


def test_a_replayed_signed_delivery_is_stored_once_and_an_old_one_refused(client, canvas, signing):
    token = signing.sign(signed_envelope(signing, SHAPES["asset_accessed"](), iat=int(time.time())))
    assert deliver(client, canvas, token, content_type="application/jwt").status_code == 200
    replay = deliver(client, canvas, token, content_type="application/jwt")
    assert replay.json()["results"][0]["status"] == "duplicate"
    old = signing.sign(
        signed_envelope(signing, SHAPES["logged_in"](), iat=int(time.time()) - 2 * 86400)
    )
    response = deliver(client, canvas, old, content_type="application/jwt")
    assert response.status_code == 401
    assert "day old" in response.json()["error"]
    assert Activity.objects.filter(source="caliper").count() == 1


# --- subscribing ---------------------------------------------------------------------------------


def test_a_root_account_is_subscribed_through_data_services_and_its_url_works(client, platform):
    received = []

    def data_services(request):
        received.append((request.headers["authorization"], request.json()))
        return Response(200, {"id": "sub-1", **request.json()["subscription"]})

    platform.route("POST", "/api/lti/accounts/1/data_services", data_services)
    call_command(
        "subscribe_live_events",
        "--deployment",
        str(Deployment.objects.get().pk),
        "--api-base",
        platform.base_url,
        "--account-id",
        "1",
        "--root-account-uuid",
        "root-uuid",
    )
    ((auth, body),) = received
    assert auth.startswith("Bearer ")
    assert platform.issued_tokens[-1]["scope"] == (
        "https://canvas.instructure.com/lti/data_services/scope/create"
    )
    sub = body["subscription"]
    assert (sub["ContextId"], sub["ContextType"], sub["Format"], sub["TransportType"]) == (
        "root-uuid",
        "root_account",
        "caliper",
        "https",
    )
    assert sub["EventTypes"] == list(DEFAULT_EVENTS)
    url = urlsplit(sub["TransportMetadata"]["Url"])
    token = parse_qs(url.query)["token"][0]
    assert url.path == "/caliper/events"
    response = deliver(client, token, SHAPES["logged_in"]())
    assert response.status_code == 200
