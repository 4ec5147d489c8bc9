"""Deep Linking 2.0: an instructor picks Finishline placements; we return a signed response.

The platform's deep-linking settings travel through the picker form signed (not in a
session), and the LtiDeepLinkingResponse JWT is built and signed by pylti1p3's DeepLink with
the tool's current key.
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

from lti_tool.context import LaunchContext
from lti_tool.launch import FinishlineRegistration, ValidatedLaunch
from lti_tool.models import Deployment

SALT = "finishline.deep-linking"


@dataclass(frozen=True)
class Placement:
    key: str
    title: str
    text: str


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


def remember_request(validated: ValidatedLaunch) -> str:
    """Sign what the response will need: the settings and the deployment."""
    return signing.dumps(
        {
            "settings": dict(validated.claims.deep_linking_settings),
            "deployment": validated.deployment.pk,
        },
        salt=SALT,
        compress=True,
    )


def read_request(signed: str, launch: LaunchContext) -> Mapping[str, Any]:
    data: Mapping[str, Any] = signing.loads(signed, salt=SALT, max_age=3600)
    if data["deployment"] != launch.deployment_id:
        raise signing.BadSignature("deep linking request from another deployment")
    return data


def content_items(keys: list[str], accept_multiple: bool) -> list[DeepLinkResource]:
    chosen = [p for p in PLACEMENTS if p.key in keys] or [PLACEMENTS[0]]
    if not accept_multiple:
        chosen = chosen[:1]
    launch_url = settings.TOOL_BASE_URL + reverse("lti_tool:launch")
    return [
        DeepLinkResource()
        .set_url(launch_url)
        .set_title(p.title)
        .set_custom_params({"finishline_placement": p.key})
        for p in chosen
    ]


def respond(launch: LaunchContext, signed: str, keys: list[str]) -> tuple[str, str]:
    """The signed LtiDeepLinkingResponse JWT and the URL to post it to."""
    data = read_request(signed, launch)
    dl_settings = data["settings"]
    deployment = Deployment.objects.select_related("platform").get(pk=data["deployment"])
    registration = FinishlineRegistration(deployment.platform)
    items = content_items(keys, bool(dl_settings.get("accept_multiple", True)))
    deep_link = DeepLink(registration, deployment.deployment_id, dl_settings)
    return deep_link.get_response_jwt(items), str(dl_settings["deep_link_return_url"])
