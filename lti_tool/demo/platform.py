"""A minimal LTI 1.3 platform inside the demo, so a newcomer can launch at once.

It is a real platform as far as the tool can tell: its own RSA key (kept in `var/`), its own
JWKS URL fetched over HTTP, OIDC authentication answering the tool's login redirect with a
signed id_token, an OAuth2 token endpoint and a Names and Role Provisioning Service listing the
course's people (learners enrolled on the demo LMS's own page join it). It serves only the
seeded demo deployment and is off in production unless FINISHLINE_DEMO_LMS=on (then without
the admin role: instructor and learner only).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.cache import cache
from jwt.algorithms import RSAAlgorithm

from lti_tool import claims as c

CLIENT_ID = "finishline-demo"
DEPLOYMENT_ID = "demo-deployment"
CONTEXT_ID = "demo-course-safety-101"
KID = "demo-platform-key"
INSTRUCTOR_SUB = "demo-instructor"
ADMIN_SUB = "demo-admin"
LEARNER_SUBS = tuple(f"demo-learner-{n}" for n in range(1, 7))
PEOPLE = {
    INSTRUCTOR_SUB: ("Ines Instructor", "ines@example.edu"),
    ADMIN_SUB: ("Ada Admin", "ada@example.edu"),
    **{sub: (f"Learner {n}", f"learner{n}@example.edu") for n, sub in enumerate(LEARNER_SUBS, 1)},
}
ROLE_URIS = {
    "instructor": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
    "learner": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
    "admin": ["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"],
}


def lms_url() -> str:
    """The demo LMS's origin: the tool's own, unless FINISHLINE_DEMO_LMS_URL names another."""
    return str(settings.DEMO_LMS_URL or settings.TOOL_BASE_URL)


MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
ENROLLED_KEY = "finishline:demo-lms-enrolled"  # learners enrolled on the demo LMS's page
PLACEMENTS = ("dashboard", "progress")  # what deep linking registers as finishline_placement


def nrps_url() -> str:
    return issuer() + "/nrps/"


def enrol_learner(name: str) -> str:
    """Enrol a new learner in the demo course on the LMS side (Finishline learns of them from
    NRPS); returns their sub."""
    enrolled: list[list[str]] = cache.get(ENROLLED_KEY) or []
    sub = f"demo-enrolled-{len(enrolled) + 1}"
    email = f"{sub}@example.edu"
    cache.set(ENROLLED_KEY, [*enrolled, [sub, name.strip()[:100] or sub, email]], None)
    return sub


def roster(current: list[tuple[str, str, str, str]]) -> list[dict[str, Any]]:
    """The course's members as NRPS 2.0 lists them: `current` (sub, name, email, role: the
    people the demo LMS already had) and the learners enrolled on its page since."""
    known = {sub for sub, *_ in current}
    added = [
        (sub, name, email, "Learner")
        for sub, name, email in cache.get(ENROLLED_KEY) or []
        if sub not in known
    ]
    return [
        {"user_id": sub, "status": "Active", "name": name, "email": email,
         "roles": [MEMBERSHIP + role]}
        for sub, name, email, role in [*current, *added]
    ]  # fmt: skip


def issuer() -> str:
    return lms_url() + "/demo/platform"


def key_path() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo_platform_key.pem"


def private_key() -> rsa.RSAPrivateKey:
    path = key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


def jwks() -> dict[str, list[dict[str, Any]]]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key().public_key(), as_dict=True)
    jwk.update({"kid": KID, "alg": "RS256", "use": "sig"})
    return {"keys": [jwk]}


def id_token(
    *,
    sub: str,
    role: str,
    nonce: str,
    message_type: str = c.RESOURCE_LINK_REQUEST,
    placement: str = "",
) -> str:
    name, email = PEOPLE.get(sub, (sub, ""))
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": issuer(),
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "sub": sub,
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "name": name,
        "email": email,
        c.MESSAGE_TYPE: message_type,
        c.VERSION: c.LTI_VERSION,
        c.DEPLOYMENT_ID: DEPLOYMENT_ID,
        c.TARGET_LINK_URI: settings.TOOL_BASE_URL + "/lti/launch/",
        c.ROLES: ROLE_URIS[role],
        c.RESOURCE_LINK: {"id": "demo-nav-link", "title": "Finishline"},
        c.TOOL_PLATFORM: {"guid": "finishline-demo-lms", "name": "Demo LMS"},
        c.CUSTOM: {
            **({"department": "Operations", "location": "Leeds"} if role == "learner" else {}),
            **({"finishline_placement": placement} if placement in PLACEMENTS else {}),
        },
    }
    if role != "admin":
        body[c.CONTEXT] = {
            "id": CONTEXT_ID,
            "title": "Workplace Safety 101",
            "label": "SAFE101",
            "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
        }
        body[c.NRPS] = {"context_memberships_url": nrps_url(), "service_versions": ["2.0"]}
    return jwt.encode(body, private_key(), algorithm="RS256", headers={"kid": KID})


def new_nonce() -> str:
    return secrets.token_urlsafe(16)
