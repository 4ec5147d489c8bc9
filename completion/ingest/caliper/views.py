"""The Caliper endpoint: bearer-token envelopes, or Canvas's JWT-signed Live Events. Thin.

Order of checks: credential (401; `Authorization: Bearer key.secret`, or `?token=key.secret`
for Canvas, which cannot set headers), rate (429), body size (413), signature when the body is
a JWT (401), media type (415), JSON and the envelope (400), dataVersion (422). Then each data
item is validated and stored on its own: the answer is 200 with a result per item as soon as
one item was taken; 400 (or 409 when every item conflicts with an event received before) when
none was. Caliper sensors read any 2xx as delivered, so an item refused here is not resent.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from completion.ingest.caliper.store import ItemResult, store_items
from completion.ingest.caliper.validation import check_envelope, check_item
from completion.ingest.limits import InputRefused, parse_json
from lti_tool.keys import credentials
from lti_tool.models import Deployment

log = logging.getLogger("finishline.caliper")
DEFAULT_MAX_BODY = 5 * 1024 * 1024
SIGNED_MAX_AGE = 24 * 3600  # a signed delivery older than this is refused as a replay
SIGNED_LEEWAY = 300
JWT_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})


class Refused(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _error(message: str, status: int, **extra: Any) -> JsonResponse:
    response = JsonResponse({"error": message, **extra}, status=status)
    if status == 429:
        response["Retry-After"] = "60"
    return response


def signed_payload(token: str) -> Any:
    """Verify a JWT-signed Live Events payload against the configured (Canvas) key set; a
    token that says when it was issued must be recent, and one that expires, unexpired."""
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
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                leeway=SIGNED_LEEWAY,
                options={"verify_aud": False},
            )
            issued = claims.get("iat")
            if isinstance(issued, int | float) and issued < time.time() - SIGNED_MAX_AGE:
                raise jwt.InvalidTokenError("the signed delivery is more than a day old")
            return claims
    raise jwt.InvalidTokenError("signed with a key the key set does not publish")


def _read(request: HttpRequest) -> bytes:
    limit = int(settings.FINISHLINE.get("CALIPER_MAX_BODY", DEFAULT_MAX_BODY))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise Refused("Content-Length is not a number", 400) from exc
    body = b"" if declared > limit else request.read(limit + 1)
    if declared > limit or len(body) > limit:
        raise Refused(f"the body is larger than the limit of {limit} bytes", 413)
    return body


def _envelope(request: HttpRequest, body: bytes, by_url_token: bool) -> Any:
    """The envelope: from a verified JWT (Canvas's signed deliveries) or a JSON body."""
    text = body.strip()
    signed = request.content_type == "application/jwt" or (
        text.count(b".") == 2 and not text.startswith(b"{")
    )
    if signed:
        try:
            claims = signed_payload(text.decode("ascii"))
        except (jwt.InvalidTokenError, requests.RequestException, UnicodeDecodeError) as exc:
            raise Refused(f"the signed payload could not be verified: {exc}", 401) from exc
        # The JWT's own claims (when it carries any) are not part of the envelope.
        if isinstance(claims, dict):
            return {k: v for k, v in claims.items() if k not in JWT_CLAIMS}
        return claims
    if by_url_token and settings.FINISHLINE.get("CANVAS_LIVE_EVENTS_REQUIRE_SIGNED"):
        raise Refused("deliveries to this URL must be signed (JWT) Live Events", 401)
    if request.content_type != "application/json":
        raise Refused("Content-Type must be application/json", 415)
    try:
        return parse_json(body, object_pairs_hook=_no_duplicate_keys)
    except InputRefused as exc:
        raise Refused(str(exc), 400) from exc


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise InputRefused("a JSON object repeats a property")
    return obj


@csrf_exempt
@require_POST
def events(request: HttpRequest) -> JsonResponse:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    by_url_token = not header.startswith("Bearer ")
    token = header.removeprefix("Bearer ") if not by_url_token else request.GET.get("token", "")
    principal = credentials.authenticate_token(kind="caliper", token=token)
    if principal is None:
        return _error("a Caliper bearer token of this deployment is required", 401)
    if not credentials.allow_request(principal):
        return _error("too many requests for this credential", 429)
    try:
        envelope = _envelope(request, _read(request), by_url_token)
        problems, version = check_envelope(envelope)
        if problems:
            raise Refused("; ".join(problems), 400)
        if version is None:
            raise Refused("dataVersion: this endpoint speaks Caliper 1.1 and 1.2", 422)
    except Refused as exc:
        log.info(
            "caliper_refused credential=%s status=%s reason=%r",
            principal.credential_id,
            exc.status,
            str(exc),
        )
        return _error(str(exc), exc.status)
    return _store(principal, envelope["data"], version)


def _store(principal: credentials.Principal, data: list[Any], version: str) -> JsonResponse:
    valid: list[tuple[int, dict[str, Any]]] = []
    rejected: list[ItemResult] = []
    for n, item in enumerate(data):
        problems = check_item(item, version=version)
        if problems:
            item_id = str(item.get("id", ""))[:200] if isinstance(item, dict) else ""
            rejected.append(ItemResult(n, item_id, "rejected", "; ".join(problems[:5])))
        else:
            valid.append((n, item))
    result = store_items(deployment=Deployment.objects.get(pk=principal.deployment_id), items=valid)
    items = sorted([*result.items, *rejected], key=lambda r: r.index)
    body = {
        "stored": result.events.stored,
        "duplicate": result.events.duplicate + sum(r.status == "duplicate" for r in items),
        "pending": result.events.pending,
        "results": [r.as_json() for r in items],
    }
    taken = [r for r in items if r.status not in {"rejected", "conflict"}]
    if taken:
        status = 200
    else:
        status = 409 if all(r.status == "conflict" for r in items) else 400
        body["error"] = next(f"data[{r.index}]: {r.reason}" for r in items)
    if rejected or status != 200:
        log.info(
            "caliper_items_refused credential=%s refused=%d of=%d first=%r",
            principal.credential_id,
            len(items) - len(taken),
            len(items),
            next((r.reason for r in items if r.reason), ""),
        )
    return JsonResponse(body, status=status)
