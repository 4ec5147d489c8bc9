"""Deep Linking 2.0: an instructor picks Finishline placements; we return a signed response.

The platform's deep-linking settings travel through the picker form signed (not in a
session) and bound to the launch that received them, and the LtiDeepLinkingResponse JWT is
built by pylti1p3's DeepLink and signed with the tool's current key. This module does not
decide who may pick (the view does) nor render anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource

from lti_tool import claims as lti_claims
from lti_tool.context import LaunchContext
from lti_tool.launch.flow import FinishlineRegistration, ValidatedLaunch
from lti_tool.models import Deployment

SALT = "finishline.deep-linking"
MAX_AGE_SECONDS = 3600
RESOURCE_LINK_TYPE = "ltiResourceLink"


@dataclass(frozen=True)
class Placement:
    key: str
    title: str
    text: str


@dataclass(frozen=True)
class DeepLinkResponse:
    """The signed JWT and where to post it (the platform's deep_link_return_url)."""

    jwt: str
    return_url: str


PLACEMENTS = (
    Placement(
        "dashboard",
        "Finishline: course progress",
        "Instructors see the risk dashboard; learners see their own progress.",
    ),
    Placement(
        "progress",
        "My progress (Finishline)",
        "A link for learners to their progress, milestones and certificates.",
    ),
)


def remember_request(validated: ValidatedLaunch, context: LaunchContext) -> str:
    """Sign what the response will need, bound to this launch's deployment and person."""
    return signing.dumps(
        {
            "settings": dict(validated.claims.deep_linking_settings),
            "deployment": validated.deployment.pk,
            "person": context.person_id,
        },
        salt=SALT,
        compress=True,
    )


def read_request(signed: str, launch: LaunchContext) -> Mapping[str, Any]:
    """The remembered request, if it belongs to this launch; BadSignature otherwise."""
    data: Mapping[str, Any] = signing.loads(signed, salt=SALT, max_age=MAX_AGE_SECONDS)
    if launch.message_type != lti_claims.DEEP_LINKING_REQUEST:
        raise signing.BadSignature("the launch is not a deep linking request")
    if data["deployment"] != launch.deployment_id or data["person"] != launch.person_id:
        raise signing.BadSignature("deep linking request of another launch")
    return data


def content_items(keys: list[str], dl_settings: Mapping[str, Any]) -> list[DeepLinkResource]:
    """The chosen placements as LTI resource links (none if the platform takes no such item)."""
    accept_types = dl_settings.get("accept_types") or [RESOURCE_LINK_TYPE]
    if RESOURCE_LINK_TYPE not in accept_types:
        return []
    chosen = [p for p in PLACEMENTS if p.key in keys] or [PLACEMENTS[0]]
    if str(dl_settings.get("accept_multiple", True)).lower() == "false":
        chosen = chosen[:1]
    launch_url = settings.TOOL_BASE_URL + reverse("lti_tool:launch")
    return [
        DeepLinkResource()
        .set_url(launch_url)
        .set_title(p.title)
        .set_custom_params({"finishline_placement": p.key})
        for p in chosen
    ]


def respond(launch: LaunchContext, signed: str, keys: list[str]) -> DeepLinkResponse:
    """The signed LtiDeepLinkingResponse for the placements picked."""
    data = read_request(signed, launch)
    dl_settings = data["settings"]
    deployment = Deployment.objects.select_related("platform").get(
        pk=data["deployment"], platform_id=launch.platform_id
    )
    items = content_items(keys, dl_settings)
    deep_link = DeepLink(
        FinishlineRegistration(deployment.platform), deployment.deployment_id, dl_settings
    )
    message = deep_link.get_message_jwt(items)
    # The data claim is echoed only when the platform sent one (pylti1p3 would send null).
    if dl_settings.get("data") is None:
        message.pop(lti_claims.DEEP_LINKING_DATA, None)
    if not items:
        message["https://purl.imsglobal.org/spec/lti-dl/claim/errormsg"] = (
            "Finishline adds LTI resource links, which this placement does not accept."
        )
    return DeepLinkResponse(
        jwt=deep_link.encode_jwt(message),  # type: ignore[no-untyped-call]
        return_url=str(dl_settings["deep_link_return_url"]),
    )
