"""LTI Dynamic Registration 1.0: the only place that speaks it.

The platform opens our initiation URL with `openid_configuration` (and usually a
`registration_token`). We fetch and check the platform's configuration, post our client
registration to its registration endpoint, and store the platform and deployment the answer
names: active at once when it came through an admin's one-time registration link (or approval
is off), else pending an admin's approval. Every fetch goes through the guarded outbound
client (no private addresses, no redirects, https in production). Failures raise
`RegistrationFailed` with a reason safe to show, the same for every way a fetch can fail, so
the answer tells nothing about what sits at an address; nothing is stored for a failed one.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from lti_tool.audit.trail import append_audit
from lti_tool.launch.flow import http_session
from lti_tool.middleware import forget_frame_origins
from lti_tool.models import Platform, RegistrationLink
from lti_tool.origins import origin_of
from lti_tool.services import register_platform

log = logging.getLogger("finishline.registration")

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
)
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
# A configuration or registration answer is a few kilobytes.
MAX_ANSWER_BYTES = 256 * 1024
LINK_LIFETIME = timedelta(days=7)
REQUIRED_FIELDS = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "registration_endpoint",
)


class RegistrationFailed(Exception):
    def __init__(self, reason: str, *, code: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.code, self.status = reason, code, status


@dataclass(frozen=True)
class PlatformConfiguration:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    product_family_code: str
    raw: dict[str, Any]

    @property
    def product(self) -> str:
        code = self.product_family_code.lower()
        if "canvas" in code:
            return Platform.Product.CANVAS
        if "moodle" in code:
            return Platform.Product.MOODLE
        return Platform.Product.OTHER


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _origin(url: str) -> str:
    """scheme://host:port, the port spelled out, so issuer and configuration URL compare."""
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


_UNREADABLE = "The platform's configuration could not be read."


def fetch_configuration(url: str, token: str) -> PlatformConfiguration:
    """GET the platform's openid-configuration and check what the spec requires of it."""
    if urlsplit(url).scheme not in {"http", "https"}:
        raise RegistrationFailed(
            "The openid_configuration parameter is not a URL.", code="config_url"
        )
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = http_session(max_bytes=MAX_ANSWER_BYTES).get(url, headers=headers)
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("registration_config_unreadable url=%r error=%s", url, exc)
        raise RegistrationFailed(_UNREADABLE, code="config_fetch", status=502) from exc
    if not isinstance(data, dict):
        log.warning("registration_config_unreadable url=%r error=not a JSON object", url)
        raise RegistrationFailed(_UNREADABLE, code="config_fetch", status=502)
    missing = [f for f in REQUIRED_FIELDS if not isinstance(data.get(f), str) or not data[f]]
    if missing:
        raise RegistrationFailed(
            f"The platform's configuration lacks {', '.join(missing)}.",
            code="config_fields",
            status=502,
        )
    # The issuer must be where the configuration was served from (Dynamic Registration
    # §3.5): the same scheme, host and port.
    if _origin(data["issuer"]) != _origin(url):
        raise RegistrationFailed(
            "The platform's issuer does not match where its configuration was served from.",
            code="config_issuer",
        )
    methods = data.get("token_endpoint_auth_methods_supported") or []
    if "private_key_jwt" not in methods:
        raise RegistrationFailed(
            "The platform does not accept private_key_jwt client authentication.",
            code="config_auth",
        )
    algs = data.get("id_token_signing_alg_values_supported") or ["RS256"]
    if "RS256" not in algs:
        raise RegistrationFailed(
            "The platform does not sign id_tokens with RS256.", code="config_alg"
        )
    platform_config = data.get(PLATFORM_CONFIGURATION) or {}
    return PlatformConfiguration(
        issuer=data["issuer"],
        authorization_endpoint=data["authorization_endpoint"],
        token_endpoint=data["token_endpoint"],
        jwks_uri=data["jwks_uri"],
        registration_endpoint=data["registration_endpoint"],
        product_family_code=str(platform_config.get("product_family_code", "")),
        raw=data,
    )


CANVAS_CUSTOM_PARAMETERS = {
    "canvas_course_id": "$Canvas.course.id",
    "canvas_user_id": "$Canvas.user.id",
}


def tool_registration(config: PlatformConfiguration) -> dict[str, Any]:
    """Our client registration, with Canvas's and Moodle's extension fields."""
    base = settings.TOOL_BASE_URL
    launch_url = base + "/lti/launch/"
    title = settings.FINISHLINE["TOOL_TITLE"]
    icon = base + "/static/finishline/icon.svg"
    messages: list[dict[str, Any]] = [
        {
            "type": "LtiResourceLinkRequest",
            "target_link_uri": launch_url,
            "label": title,
            "icon_uri": icon,
            "placements": ["course_navigation"],
            "roles": [INSTRUCTOR, LEARNER],
            "custom_parameters": {"finishline_placement": "dashboard"},
            "https://canvas.instructure.com/lti/course_navigation/default_enabled": True,
            "https://canvas.instructure.com/lti/visibility": "members",
        },
        {
            "type": "LtiDeepLinkingRequest",
            "target_link_uri": launch_url,
            "label": f"Add {title}",
            "icon_uri": icon,
            "roles": [INSTRUCTOR],
            "placements": ["link_selection", "assignment_selection", "ContentArea"],
        },
    ]
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": base + "/lti/login/",
        "redirect_uris": [launch_url],
        "client_name": title,
        "jwks_uri": base + "/lti/jwks/",
        "logo_uri": icon,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(SCOPES),
        TOOL_CONFIGURATION: {
            "domain": urlsplit(base).netloc,
            "target_link_uri": launch_url,
            "description": "Completion tracking, daily drop-out risk and timely interventions.",
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email", "locale"],
            "messages": messages,
            # Live Events name courses and users by Canvas's own ids: the launch stores them.
            "custom_parameters": CANVAS_CUSTOM_PARAMETERS
            if config.product == Platform.Product.CANVAS
            else {},
            "https://canvas.instructure.com/lti/privacy_level": "public",
        },
    }


def post_registration(config: PlatformConfiguration, token: str) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = http_session(max_bytes=MAX_ANSWER_BYTES).post(
            config.registration_endpoint, json=tool_registration(config), headers=headers
        )
    except requests.RequestException as exc:
        raise RegistrationFailed(
            "The platform's registration endpoint did not answer.",
            code="register_unreachable",
            status=502,
        ) from exc
    if not response.ok:
        log.warning("registration_refused status=%s", response.status_code)
        raise RegistrationFailed(
            f"The platform refused the registration (HTTP {response.status_code}).",
            code="register_refused",
            status=502,
        )
    try:
        answer = response.json()
    except ValueError as exc:
        raise RegistrationFailed(
            "The platform answered the registration with no JSON.",
            code="register_shape",
            status=502,
        ) from exc
    if not isinstance(answer, dict) or not answer.get("client_id"):
        raise RegistrationFailed(
            "The platform's answer has no client_id.", code="register_shape", status=502
        )
    return answer


def register(
    *,
    openid_configuration: str,
    registration_token: str,
    actor: str,
    link_code: str = "",
) -> Platform:
    """The whole dynamic registration; stores the platform only if every step succeeded.

    Through a valid one-time link (`link_code`) the platform is active at once and the link
    is spent; otherwise it waits for approval when REGISTRATION_REQUIRES_APPROVAL is on.
    """
    link = open_link(link_code) if link_code else None
    if link_code and link is None:
        raise RegistrationFailed(
            "This registration link was already used, has expired or is unknown; ask your "
            "Finishline administrator for a new one.",
            code="registration_link",
            status=403,
        )
    config = fetch_configuration(openid_configuration, registration_token)
    answer = post_registration(config, registration_token)
    tool_config = answer.get(TOOL_CONFIGURATION) or {}
    deployment_id = str(tool_config.get("deployment_id") or answer.get("deployment_id") or "")
    with transaction.atomic():
        if link is not None and not spend_link(link):
            raise RegistrationFailed(
                "This registration link was used meanwhile.", code="registration_link", status=403
            )
        platform = register_platform(
            issuer=config.issuer,
            client_id=str(answer["client_id"]),
            auth_login_url=config.authorization_endpoint,
            auth_token_url=config.token_endpoint,
            auth_token_audience=str(config.raw.get("authorization_server", "")),
            jwks_url=config.jwks_uri,
            deployment_ids=[deployment_id] if deployment_id else [],
            actor=actor,
            name=str(config.raw.get(PLATFORM_CONFIGURATION, {}).get("name", ""))
            or _host(config.issuer),
            product=config.product,
            openid_configuration=config.raw,
            requires_approval=link is None
            and settings.FINISHLINE["REGISTRATION_REQUIRES_APPROVAL"],
        )
        if link is not None:
            RegistrationLink.objects.filter(pk=link.pk).update(platform=platform)
    forget_frame_origins()
    return platform


def configuration_origins(config_url: str) -> list[str]:
    """Origins that may frame the registration's own pages (its answer, its refusal)."""
    origin = origin_of(config_url)
    return [origin] if origin.startswith(("https://", "http://")) else []


# --- One-time registration links ---------------------------------------------------------


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@transaction.atomic
def issue_link(*, by: str, now: datetime | None = None) -> str:
    """A new one-time registration URL (shown once; only a hash of its code is kept)."""
    now = now or timezone.now()
    code = secrets.token_urlsafe(24)
    link = RegistrationLink.objects.create(
        code_hash=_code_hash(code), created_by=by, created_at=now, expires_at=now + LINK_LIFETIME
    )
    append_audit(actor=by, action="registration_link.issued", obj=link)
    return settings.TOOL_BASE_URL + reverse("registration:register_with_link", args=[code])


def open_link(code: str, *, now: datetime | None = None) -> RegistrationLink | None:
    return RegistrationLink.objects.filter(
        code_hash=_code_hash(code), used_at__isnull=True, expires_at__gt=now or timezone.now()
    ).first()


def spend_link(link: RegistrationLink) -> bool:
    """Mark the link used; False if another registration spent it first."""
    return bool(
        RegistrationLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
    )
