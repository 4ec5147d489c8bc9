"""claims.py is pure: role mapping and the shape of an LTI 1.3 message, without a database."""

from __future__ import annotations

import pytest

from lti_tool.claims import (
    CONTEXT,
    DEPLOYMENT_ID,
    MESSAGE_TYPE,
    RESOURCE_LINK,
    ROLES,
    VERSION,
    InvalidClaims,
    LaunchClaims,
    map_role,
)
from lti_tool.models import Role

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"


def token(**changes):
    data = {
        "iss": "https://lms.example",
        "sub": "u1",
        MESSAGE_TYPE: "LtiResourceLinkRequest",
        VERSION: "1.3.0",
        DEPLOYMENT_ID: "d1",
        ROLES: [MEMBERSHIP + "Learner"],
        CONTEXT: {"id": "c1", "title": "Course"},
        RESOURCE_LINK: {"id": "r1"},
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([MEMBERSHIP + "Learner"], Role.LEARNER),
        ([MEMBERSHIP + "Instructor", MEMBERSHIP + "Learner"], Role.INSTRUCTOR),
        ([INSTITUTION + "Administrator", MEMBERSHIP + "Learner"], Role.ADMIN),
        ([MEMBERSHIP + "Instructor#TeachingAssistant"], None),
        (
            ["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"],
            Role.TEACHING_ASSISTANT,
        ),
        ([MEMBERSHIP + "Mentor"], Role.ADVISOR),
        (["Instructor"], Role.INSTRUCTOR),
        (["TeachingAssistant"], Role.TEACHING_ASSISTANT),
        (["http://purl.imsglobal.org/vocab/lis/v2/system/person#User"], None),
        ([], None),
    ],
)
def test_lti_roles_map_to_the_highest_finishline_role(roles, expected):
    assert map_role(roles) == expected


def test_a_resource_link_launch_parses_into_typed_claims():
    claims = LaunchClaims.from_id_token(token(), client_id="tool")
    assert (claims.sub, claims.role, claims.context_id, claims.resource_link_id) == (
        "u1",
        Role.LEARNER,
        "c1",
        "r1",
    )


def test_numeric_context_and_link_ids_are_read_as_strings():
    claims = LaunchClaims.from_id_token(
        token(**{CONTEXT: {"id": 7}, RESOURCE_LINK: {"id": 3}}), client_id="tool"
    )
    assert (claims.context_id, claims.resource_link_id) == ("7", "3")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({MESSAGE_TYPE: "LtiStartProctoring"}, "message_type"),
        ({MESSAGE_TYPE: None}, "message_type"),
        ({VERSION: "1.3"}, "lti_version"),
        ({"sub": None}, "claims"),
        ({"sub": 5}, "claims"),
        ({DEPLOYMENT_ID: None}, "claims"),
        ({ROLES: None}, "claims"),
        ({ROLES: "Learner"}, "claims"),
        ({ROLES: ["Visitor"]}, "role"),
        ({RESOURCE_LINK: None}, "claims"),
        ({RESOURCE_LINK: {"id": True}}, "claims"),
        ({CONTEXT: None}, "claims"),
        ({CONTEXT: {"id": ""}}, "claims"),
    ],
)
def test_a_malformed_message_is_refused_with_its_code(changes, code):
    with pytest.raises(InvalidClaims) as refused:
        LaunchClaims.from_id_token(token(**changes), client_id="tool")
    assert refused.value.code == code


def test_an_administrator_and_a_privacy_request_need_no_course():
    admin = token(**{ROLES: [INSTITUTION + "Administrator"], CONTEXT: None})
    assert LaunchClaims.from_id_token(admin, client_id="tool").context_id == ""
    privacy = token(**{MESSAGE_TYPE: "DataPrivacyLaunchRequest", CONTEXT: None})
    assert LaunchClaims.from_id_token(privacy, client_id="tool").role == Role.LEARNER
