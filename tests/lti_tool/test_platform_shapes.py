"""Launches shaped like the ones Canvas and Moodle actually send are accepted and recorded."""

from __future__ import annotations

from lti_tool.models import Course, Membership, Person
from tests.platform.launcher import landing_url, launch

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"

CANVAS_CLAIMS = {
    LTI + "roles": [INSTITUTION + "Student", MEMBERSHIP + "Learner", SYSTEM + "User"],
    LTI + "context": {
        "id": "4dde05e8ca1973bcca9bffc13e1548820eee93a3",
        "label": "BIO101",
        "title": "Biology 101",
        "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
    },
    LTI + "custom": {"canvas_course_id": "42", "department": "Science", "location": "Austin"},
    LTI + "lis": {"person_sourcedid": "SIS-555", "course_offering_sourcedid": "BIO101-F26"},
    LTI + "tool_platform": {
        "guid": "canvas-guid:canvas-lms",
        "name": "Example University",
        "product_family_code": "canvas",
        "version": "cloud",
    },
    LTI + "launch_presentation": {
        "document_target": "iframe",
        "return_url": "https://canvas.example.edu/courses/42/external_content/success/external_tool_redirect",
        "locale": "en",
    },
    "https://www.instructure.com/placement": "course_navigation",
    "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
        "context_memberships_url": "https://canvas.example.edu/api/lti/courses/42/names_and_roles",
        "service_versions": ["2.0"],
    },
    "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
        "scope": [
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
            "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        ],
        "lineitems": "https://canvas.example.edu/api/lti/courses/42/line_items",
    },
    "locale": "en",
    "picture": "https://canvas.example.edu/images/messages/avatar-50.png",
}

MOODLE_CLAIMS = {
    LTI + "roles": [INSTITUTION + "Instructor", MEMBERSHIP + "Instructor"],
    LTI + "context": {
        "id": "7",
        "label": "SAFE",
        "title": "Safety at work",
        "type": ["CourseSection"],
    },
    LTI + "resource_link": {"id": "3", "title": "Finishline", "description": ""},
    LTI + "lis": {"person_sourcedid": "", "course_section_sourcedid": ""},
    LTI + "launch_presentation": {
        "locale": "en",
        "document_target": "iframe",
        "return_url": "https://moodle.example.edu/mod/lti/return.php?course=7&launch_container=3",
    },
    LTI + "tool_platform": {
        "product_family_code": "moodle",
        "version": "2024100700",
        "guid": "moodle.example.edu",
        "name": "Example Moodle",
    },
    LTI + "custom": {},
    "https://purl.imsglobal.org/spec/lti/claim/ext": {"user_username": "teach1", "lms": "moodle-2"},
    "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
        "scope": [
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        ],
        "lineitems": "https://moodle.example.edu/mod/lti/services.php/7/lineitems?type_id=2",
        "lineitem": "https://moodle.example.edu/mod/lti/services.php/7/lineitems/9/lineitem?type_id=2",
    },
    "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
        "context_memberships_url": "https://moodle.example.edu/mod/lti/services.php/CourseSection/7/bindings/2/memberships",
        "service_versions": ["1.0", "2.0"],
    },
}


def test_canvas_shaped_learner_launch_is_recorded_with_services_and_attributes(client, platform):
    response = launch(
        client,
        platform,
        sub="535fa085f22b4655f48cd5a36a9215f64c062838",
        body_overrides=CANVAS_CLAIMS,
    )
    assert response.status_code == 200
    assert landing_url(response).startswith("/me/")
    course = Course.objects.get()
    assert course.context_id == "4dde05e8ca1973bcca9bffc13e1548820eee93a3"
    assert course.nrps_url.endswith("/api/lti/courses/42/names_and_roles")
    assert course.ags_lineitems_url.endswith("/api/lti/courses/42/line_items")
    person = Person.objects.get()
    assert person.sourced_id == "SIS-555"
    assert person.attributes == {"department": "Science", "location": "Austin"}
    assert Membership.objects.get().role == "learner"


def test_moodle_shaped_instructor_launch_lands_on_the_dashboard(client, platform):
    response = launch(client, platform, sub="2", role="Instructor", body_overrides=MOODLE_CLAIMS)
    assert response.status_code == 200
    assert landing_url(response).startswith("/course/")
    course = Course.objects.get()
    assert course.context_id == "7"
    assert "bindings/2/memberships" in course.nrps_url
    assert Membership.objects.get().role == "instructor"
