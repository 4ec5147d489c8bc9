"""LTI claim URIs, role mapping, and a typed view of a validated id_token. Pure.

Everything that reads an LTI claim reads it here, once. This module checks the shape of the
claims (required ones present, right message type and version); signatures, nonces and
audiences are checked in `lti_tool.launch.flow`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lti_tool.models import Role

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
TARGET_LINK_URI = LTI + "target_link_uri"
RESOURCE_LINK = LTI + "resource_link"
ROLES = LTI + "roles"
CONTEXT = LTI + "context"
CUSTOM = LTI + "custom"
LIS = LTI + "lis"
FOR_USER = LTI + "for_user"
TOOL_PLATFORM = LTI + "tool_platform"
LAUNCH_PRESENTATION = LTI + "launch_presentation"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DEEP_LINKING_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
DEEP_LINKING_CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
DEEP_LINKING_MSG = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DATA_PRIVACY_REQUEST = "DataPrivacyLaunchRequest"
MESSAGE_TYPES = frozenset({RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST, DATA_PRIVACY_REQUEST})
LTI_VERSION = "1.3.0"

_MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
_INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
_SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"

# Highest privilege first: a person with several roles acts with the first that matches.
_ROLE_ORDER: tuple[tuple[Role, frozenset[str]], ...] = (
    (
        Role.ADMIN,
        frozenset(
            {
                _INSTITUTION + "Administrator",
                _SYSTEM + "Administrator",
                _SYSTEM + "SysAdmin",
                _MEMBERSHIP + "Administrator",
            }
        ),
    ),
    (
        Role.INSTRUCTOR,
        frozenset(
            {
                _MEMBERSHIP + "Instructor",
                _MEMBERSHIP + "ContentDeveloper",
                _INSTITUTION + "Instructor",
                _INSTITUTION + "Faculty",
            }
        ),
    ),
    (
        Role.TEACHING_ASSISTANT,
        frozenset(
            {
                "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
                _MEMBERSHIP + "TeachingAssistant",
            }
        ),
    ),
    (Role.ADVISOR, frozenset({_MEMBERSHIP + "Mentor", _INSTITUTION + "Mentor"})),
    (
        Role.LEARNER,
        frozenset({_MEMBERSHIP + "Learner", _INSTITUTION + "Student", _INSTITUTION + "Learner"}),
    ),
)
# Short role names (LTI 1.3 allows "Instructor" for the context membership vocabulary).
_SHORT = {
    "Instructor": Role.INSTRUCTOR,
    "Learner": Role.LEARNER,
    "Mentor": Role.ADVISOR,
    "Administrator": Role.ADMIN,
    "TeachingAssistant": Role.TEACHING_ASSISTANT,
}


class InvalidClaims(ValueError):
    """The id_token is signed and fresh but its claims do not make an LTI 1.3 message.

    `code` names the failed check for the refusal page and the log: `message_type`,
    `lti_version`, `role`, or `claims` for a missing or malformed required claim.
    """

    def __init__(self, reason: str, *, code: str = "claims") -> None:
        super().__init__(reason)
        self.code = code


def map_role(lti_roles: Iterable[str]) -> Role | None:
    """The Finishline role of a set of LTI role URIs, or None when none applies."""
    roles = set(lti_roles)
    for role, uris in _ROLE_ORDER:
        if roles & uris:
            return role
    for name, role in _SHORT.items():
        if name in roles:
            return role
    return None


@dataclass(frozen=True)
class ServiceEndpoints:
    nrps_url: str = ""
    ags_lineitems_url: str = ""
    ags_lineitem_url: str = ""
    ags_scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LaunchClaims:
    """What a validated id_token says, as typed attributes."""

    issuer: str
    client_id: str
    deployment_id: str
    sub: str
    message_type: str
    role: Role
    lti_roles: tuple[str, ...]
    context_id: str
    context_title: str = ""
    context_label: str = ""
    resource_link_id: str = ""
    resource_link_title: str = ""
    target_link_uri: str = ""
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    sourced_id: str = ""
    locale: str = ""
    custom: Mapping[str, str] = field(default_factory=dict)
    services: ServiceEndpoints = ServiceEndpoints()
    deep_linking_settings: Mapping[str, Any] = field(default_factory=dict)
    for_user_sub: str = ""
    return_url: str = ""

    @classmethod
    def from_id_token(cls, data: Mapping[str, Any], *, client_id: str) -> LaunchClaims:
        """Parse a decoded id_token; raise InvalidClaims when a required claim is missing."""
        message_type, role, lti_roles = _check_shape(data)
        context = _mapping(data, CONTEXT)
        resource_link = _mapping(data, RESOURCE_LINK)
        lis = _mapping(data, LIS)
        return cls(
            issuer=str(data["iss"]),
            client_id=client_id,
            deployment_id=str(data[DEPLOYMENT_ID]),
            sub=str(data["sub"]),
            message_type=message_type,
            role=role,
            lti_roles=lti_roles,
            context_id=_ident(context, "id"),
            context_title=str(context.get("title", "")),
            context_label=str(context.get("label", "")),
            resource_link_id=_ident(resource_link, "id"),
            resource_link_title=str(resource_link.get("title", "")),
            target_link_uri=_text(data, TARGET_LINK_URI),
            name=_text(data, "name"),
            given_name=_text(data, "given_name"),
            family_name=_text(data, "family_name"),
            email=_text(data, "email"),
            sourced_id=str(lis.get("person_sourcedid", "")),
            locale=_text(data, "locale"),
            custom={str(k): str(v) for k, v in _mapping(data, CUSTOM).items()},
            services=_services(data),
            deep_linking_settings=_mapping(data, DEEP_LINKING_SETTINGS),
            for_user_sub=str(_mapping(data, FOR_USER).get("user_id", "")),
            return_url=str(_mapping(data, LAUNCH_PRESENTATION).get("return_url", "")),
        )


def _check_shape(data: Mapping[str, Any]) -> tuple[str, Role, tuple[str, ...]]:
    """The message type, role and LTI roles of a well-formed message; InvalidClaims otherwise."""
    message_type = _text(data, MESSAGE_TYPE)
    if message_type not in MESSAGE_TYPES:
        raise InvalidClaims(f"unsupported message type {message_type!r}", code="message_type")
    if _text(data, VERSION) != LTI_VERSION:
        raise InvalidClaims(f"unsupported LTI version {data.get(VERSION)!r}", code="lti_version")
    for claim in ("iss", "sub", DEPLOYMENT_ID):
        if not _text(data, claim):
            raise InvalidClaims(f"missing required claim {claim}")
    if not isinstance(data.get(ROLES), list):
        raise InvalidClaims(f"missing required claim {ROLES}")
    lti_roles = tuple(str(r) for r in data[ROLES])
    role = map_role(lti_roles)
    if role is None:
        raise InvalidClaims(
            "no role Finishline recognises (instructor, learner, admin, …)", code="role"
        )
    context = _mapping(data, CONTEXT)
    resource_link = _mapping(data, RESOURCE_LINK)
    if message_type == RESOURCE_LINK_REQUEST and not _ident(resource_link, "id"):
        raise InvalidClaims(f"missing required claim {RESOURCE_LINK}.id")
    if message_type == DEEP_LINKING_REQUEST and not _text(
        _mapping(data, DEEP_LINKING_SETTINGS), "deep_link_return_url"
    ):
        raise InvalidClaims(f"missing required claim {DEEP_LINKING_SETTINGS}")
    # A data-privacy request concerns the person, not a course; admins may launch outside one.
    if not _ident(context, "id") and role != Role.ADMIN and message_type != DATA_PRIVACY_REQUEST:
        raise InvalidClaims(f"missing claim {CONTEXT}: Finishline is launched from a course")
    return message_type, role, lti_roles


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _ident(data: Mapping[str, Any], key: str) -> str:
    """An identifier claim: a string (some platforms send numbers); anything else is absent."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value)


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _services(data: Mapping[str, Any]) -> ServiceEndpoints:
    nrps = _mapping(data, NRPS)
    ags = _mapping(data, AGS)
    scopes = ags.get("scope", [])
    return ServiceEndpoints(
        nrps_url=str(nrps.get("context_memberships_url", "")),
        ags_lineitems_url=str(ags.get("lineitems", "")),
        ags_lineitem_url=str(ags.get("lineitem", "")),
        ags_scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
    )


def canvas_id(custom: Mapping[str, str], key: str) -> str:
    """A Canvas id from a custom parameter (`canvas_course_id=$Canvas.course.id`), or "" when
    absent or left unsubstituted (a platform other than Canvas sends the `$…` text as is)."""
    value = str(custom.get(key, "")).strip()
    return value if value.isdigit() and len(value) <= 32 else ""


def time_zone(custom: Mapping[str, str]) -> str:
    """The person's IANA time zone from a custom parameter (`timezone=$Person.address.timezone`
    in Canvas, a `timezone` custom parameter in Moodle), or "" when absent or not a zone."""
    name = str(custom.get("timezone") or custom.get("time_zone") or "").strip()
    if not name or len(name) > 64 or name.startswith("$"):
        return ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ""
    return name
