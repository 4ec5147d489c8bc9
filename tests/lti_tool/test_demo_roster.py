"""The demo LMS's roster: a learner enrolled on its people form is listed by its NRPS endpoint,
behind its OAuth2 token endpoint, and a roster sync brings them into the course."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from completion.ingest.lms.sync import sync_course_roster
from lti_tool.demo import platform as demo
from lti_tool.models import Course, Membership

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_course(live_server, settings):
    settings.TOOL_BASE_URL = live_server.url
    cache.clear()
    call_command("seed_demo", verbosity=0)
    course = Course.objects.get(context_id=demo.CONTEXT_ID)
    course.nrps_url = demo.nrps_url()
    course.save(update_fields=["nrps_url"])
    return course


def test_a_learner_enrolled_on_the_demo_lms_joins_at_the_next_sync(demo_course):
    page = Client().post("/demo/lms/enrol/", {"name": "Nadia New"})
    assert page.status_code == 302
    assert "enrolled=Nadia+New" in page["Location"]
    result = sync_course_roster(demo_course.pk)
    assert result["members"] == 8
    nadia = Membership.objects.get(course=demo_course, person__name="Nadia New")
    assert nadia.role == "learner"
    assert Membership.objects.filter(course=demo_course, status="active").count() == 8


def test_the_demo_nrps_wants_a_token_and_the_token_endpoint_a_signed_assertion(demo_course):
    assert Client().get("/demo/platform/nrps/").status_code == 401
    refused = Client().post("/demo/platform/token/", {"grant_type": "client_credentials",
                                                      "client_assertion": "not.a.jwt"})  # fmt: skip
    assert refused.status_code == 401


def test_a_placement_rides_in_the_launch_custom_claims(demo_course):
    page = Client().get("/demo/lms/?as=instructor&placement=progress").content.decode()
    assert "placement=progress" in page
    token = demo.id_token(sub=demo.INSTRUCTOR_SUB, role="instructor", nonce="n",
                          placement="progress")  # fmt: skip
    import jwt

    body = jwt.decode(token, options={"verify_signature": False})
    assert body["https://purl.imsglobal.org/spec/lti/claim/custom"] == {
        "finishline_placement": "progress"
    }
    assert (
        body["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"][
            "context_memberships_url"
        ]
        == demo.nrps_url()
    )
