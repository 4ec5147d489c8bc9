"""Open Badges for issued certificates: the signed credential, the issuer profile and the
published revocation status list. The formats are `badges`' business; this module fills them
with a deployment's facts and the tool's signing key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse

from certificates import badges
from certificates.models import Certificate
from certificates.selectors import public_url, revoked_indexes
from certificates.signing import active_key, private_key, public_jwk
from lti_tool.models import Deployment


def _absolute(name: str, *args: object) -> str:
    return settings.TOOL_BASE_URL + reverse(name, args=args)


def issuer_id(deployment_id: int) -> str:
    return _absolute("certificates:issuer", deployment_id)


def status_list_url(deployment_id: int) -> str:
    return _absolute("certificates:status_list", deployment_id)


def issuer_name(deployment: Deployment) -> str:
    return deployment.name or deployment.platform.name or settings.FINISHLINE["TOOL_TITLE"]


def issuer_profile(deployment_id: int) -> dict[str, Any]:
    deployment = get_object_or_404(Deployment.objects.select_related("platform"), pk=deployment_id)
    return {
        "@context": [badges.VC_CONTEXT, badges.OB_CONTEXT],
        "id": issuer_id(deployment_id),
        "type": ["Profile"],
        "name": issuer_name(deployment),
        "url": settings.TOOL_BASE_URL,
    }


def badge_facts(cert: Certificate) -> badges.BadgeFacts:
    deployment = cert.deployment
    achievement = f"course-{cert.course_id}" if cert.course_id else f"track-{cert.track_id}"
    return badges.BadgeFacts(
        credential_id=public_url(cert),
        issuer_id=issuer_id(deployment.pk),
        issuer_name=issuer_name(deployment),
        achievement_id=f"{issuer_id(deployment.pk)}#{achievement}",
        achievement_name=cert.title,
        achievement_description=f"Completed {cert.title}",
        criteria="Met the completion criteria set by the course's instructors.",
        learner_name=cert.learner_name,
        learner_email=cert.person.email,
        valid_from=cert.issued_at,
        valid_until=cert.expires_at,
        status_list_url=status_list_url(deployment.pk),
        status_index=cert.status_index,
        salt=cert.serial,
    )


def badge_token(cert: Certificate) -> str:
    """The certificate as a signed OpenBadgeCredential (VC-JWT)."""
    key = cert.key or active_key()
    return badges.sign_vc(badges.credential(badge_facts(cert)), private_key(key), public_jwk(key))


def status_list_token(deployment_id: int, *, now: datetime) -> str:
    deployment = get_object_or_404(Deployment.objects.select_related("platform"), pk=deployment_id)
    body = badges.status_list_credential(
        url=status_list_url(deployment_id),
        issuer_id=issuer_id(deployment_id),
        issuer_name=issuer_name(deployment),
        encoded=badges.encode_status_list(revoked_indexes(deployment_id)),
        valid_from=now.replace(microsecond=0),
    )
    key = active_key()
    return badges.sign_vc(body, private_key(key), public_jwk(key))
