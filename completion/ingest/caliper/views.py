"""The Caliper endpoint: bearer-token envelopes, or Canvas's JWT-signed Live Events."""

from __future__ import annotations

import json
import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from completion.ingest.caliper.envelopes import validate_envelope
from completion.ingest.caliper.store import store_envelope
from lti_tool.keys import credentials
from lti_tool.models import Deployment

log = logging.getLogger("finishline.caliper")
DEFAULT_MAX_BODY = 5 * 1024 * 1024


def _error(message: str, status: int, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for key, value in headers.items():
        response[key] = value
    return response


def signed_payload(token: str) -> Any:
    """Verify a JWT-signed Live Events payload against the configured (Canvas) key set."""
    url = settings.FINISHLINE.get("CANVAS_LIVE_EVENTS_JWKS_URL", "")
    if not url:
        raise jwt.InvalidTokenError("no Live Events key set is configured")
    kid = jwt.get_unverified_header(token).get("kid", "")
    keys = cache.get("finishline:live-events-jwks")
    for attempt in range(2):
        if keys is None or attempt:
            response = requests.get(url, timeout=settings.FINISHLINE["HTTP_TIMEOUT"])
            response.raise_for_status()
            keys = response.json()
            cache.set("finishline:live-events-jwks", keys, 3600)
        match = next((k for k in keys.get("keys", []) if k.get("kid") == kid), None)
        if match is not None:
            key = jwt.PyJWK.from_dict(match, algorithm="RS256")
            return jwt.decode(token, key, algorithms=["RS256"], options={"verify_aud": False})
    raise jwt.InvalidTokenError("signed with a key the key set does not publish")


@csrf_exempt
@require_POST
def events(request: HttpRequest) -> JsonResponse:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    # Canvas Live Events cannot send headers: their subscription URL carries ?token=key.secret.
    token = (
        header.removeprefix("Bearer ")
        if header.startswith("Bearer ")
        else request.GET.get("token", "")
    )
    principal = credentials.authenticate_token(kind="caliper", token=token)
    if principal is None:
        return _error("a Caliper bearer token of this deployment is required", 401)
    if not credentials.allow_request(principal):
        return _error("too many requests for this credential", 429, **{"Retry-After": "60"})
    limit = settings.FINISHLINE.get("CALIPER_MAX_BODY", DEFAULT_MAX_BODY)
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit or len(request.body) > limit:
        return _error(f"the body is larger than {limit} bytes", 413)
    body = request.body.decode("utf-8", "replace").strip()
    try:
        if request.content_type == "application/jwt" or (
            body.count(".") == 2 and not body.startswith("{")
        ):
            envelope = signed_payload(body)
        else:
            envelope = json.loads(body)
    except (jwt.InvalidTokenError, requests.RequestException) as exc:
        log.warning(
            "caliper_signature_rejected credential=%s reason=%s", principal.credential_id, exc
        )
        return _error(f"the signed payload could not be verified: {exc}", 401)
    except ValueError:
        return _error("the body is not JSON", 400)
    problems = validate_envelope(envelope)
    if problems:
        log.info("caliper_rejected credential=%s reason=%r", principal.credential_id, problems[0])
        return _error("; ".join(problems[:20]), 400)
    result = store_envelope(
        deployment=Deployment.objects.get(pk=principal.deployment_id), envelope=envelope
    )
    return JsonResponse(
        {"stored": result.stored, "duplicate": result.duplicate, "pending": result.pending}
    )
