"""The xAPI statements resource (POST, PUT, GET) and /about, for LRS clients. Thin.

Order of checks: HTTP Basic credential (401), its rate (429), X-Experience-API-Version (400),
body size (413), then parsing, validation and storing. Every answer carries
`X-Experience-API-Version: 1.0.3`; every GET answer `X-Experience-API-Consistent-Through`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from completion.ingest.xapi import is_uuid, parse_timestamp, validate_statement
from completion.ingest.xapi_attachments import AttachmentError, check_attachments, parse_multipart
from completion.xapi_store import (
    StatementConflict,
    StatementRejected,
    find_statement,
    query_statements,
    store_statements,
)
from lti_tool import credentials

log = logging.getLogger("finishline.xapi")
VERSION = "1.0.3"
SUPPORTED_VERSIONS = ["1.0.3", "1.0.2", "1.0.1", "1.0.0"]
DEFAULT_MAX_BODY = 5 * 1024 * 1024
CLIENT_VERSION = re.compile(r"^1\.0(?:\.\d+)?$")
SINGLE_PARAMS = {"statementId", "voidedStatementId", "attachments", "format"}


class BadRequest(ValueError):
    """Why a request is refused with 400; the message is the reason sent back."""


def _answer(response: HttpResponse) -> HttpResponse:
    response["X-Experience-API-Version"] = VERSION
    return response


def _error(message: str, status: int, **headers: str) -> HttpResponse:
    response = JsonResponse({"error": message}, status=status)
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return _answer(response)


def _principal(request: HttpRequest) -> credentials.Principal | None:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        key, _, secret = base64.b64decode(token.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return credentials.authenticate(kind="xapi", key=key, secret=secret)


def _authority(principal: credentials.Principal) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "name": f"Finishline credential {principal.credential_id}",
        "account": {"homePage": settings.TOOL_BASE_URL, "name": str(principal.credential_id)},
    }


def _refusal(request: HttpRequest) -> tuple[HttpResponse | None, credentials.Principal | None]:
    """401, 429 or 400 for credential, rate and version; else the principal."""
    principal = _principal(request)
    if principal is None:
        return _error(
            "valid HTTP Basic credentials are required",
            401,
            **{"WWW_Authenticate": 'Basic realm="Finishline xAPI"'},
        ), None
    if not credentials.allow_request(principal):
        retry = str(60 - int(time.time()) % 60)
        return _error("too many requests for this credential", 429, Retry_After=retry), None
    if not CLIENT_VERSION.match(request.headers.get("X-Experience-API-Version", "")):
        return _error("the X-Experience-API-Version header must be 1.0 or 1.0.x", 400), None
    return None, principal


@csrf_exempt
def statements(request: HttpRequest) -> HttpResponse:
    refusal, principal = _refusal(request)
    if refusal is not None or principal is None:
        return refusal or _error("unauthorised", 401)
    if request.method in {"GET", "HEAD"}:
        return _get(request, principal)
    if request.method not in {"POST", "PUT"}:
        return _error("statements take GET, HEAD, POST and PUT", 405, Allow="GET, HEAD, POST, PUT")
    limit = int(settings.FINISHLINE.get("XAPI_MAX_BODY", DEFAULT_MAX_BODY))
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        return _error(f"the body is larger than {limit} bytes", 413)
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(f"the body is larger than {limit} bytes", 413)
    try:
        batch, parts = _parse(request, body)
        _validate(batch, parts)
        ids = _store(principal, batch)
    except (BadRequest, AttachmentError, StatementRejected) as exc:
        log.info("xapi_rejected credential=%s reason=%r", principal.credential_id, str(exc))
        return _error(str(exc), 400)
    except StatementConflict as exc:
        return _error(str(exc), 409)
    return _answer(HttpResponse(status=204) if request.method == "PUT" else _ids(ids))


def _store(principal: credentials.Principal, batch: list[Any]) -> list[str]:
    """Store; a request racing this one with the same new id makes the second try see it."""
    for attempt in (1, 2):
        try:
            return store_statements(
                deployment_id=principal.deployment_id,
                statements=batch,
                authority=_authority(principal),
            )
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _ids(ids: list[str]) -> HttpResponse:
    return HttpResponse(json.dumps(ids), content_type="application/json")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise BadRequest("a JSON object repeats a key")
    return obj


def _parse(request: HttpRequest, body: bytes) -> tuple[list[Any], dict[str, bytes]]:
    """The statements (always a list) and attachment parts by SHA-2."""
    content_type = request.META.get("CONTENT_TYPE", "")
    parts: dict[str, bytes] = {}
    if content_type.lower().startswith("multipart/mixed"):
        body, parts = parse_multipart(body, content_type)
    elif not content_type.lower().startswith("application/json"):
        raise BadRequest("Content-Type must be application/json or multipart/mixed")
    try:
        payload = json.loads(body, object_pairs_hook=_no_duplicate_keys)
    except BadRequest:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the body is not JSON") from exc
    if request.method == "PUT":
        return [_put_statement(request, payload)], parts
    batch = payload if isinstance(payload, list) else [payload]
    if not batch:
        raise BadRequest("the body holds no statement")
    return batch, parts


def _put_statement(request: HttpRequest, payload: Any) -> Any:
    statement_id = request.GET.get("statementId", "")
    if not is_uuid(statement_id):
        raise BadRequest("PUT needs a statementId parameter holding a UUID")
    if not isinstance(payload, dict):
        raise BadRequest("PUT takes one statement")
    if str(payload.get("id", statement_id)).lower() != statement_id.lower():
        raise BadRequest("the statement's id differs from the statementId parameter")
    return {**payload, "id": statement_id}


def _validate(batch: list[Any], parts: dict[str, bytes]) -> None:
    for n, statement in enumerate(batch):
        problems = validate_statement(statement)
        if problems:
            raise BadRequest(f"statement {n}: {problems[0]}")
    check_attachments(batch, parts)


def _get(request: HttpRequest, principal: credentials.Principal) -> HttpResponse:
    try:
        response = _lookup(request, principal) if _single(request) else _query(request, principal)
    except BadRequest as exc:
        response = _error(str(exc), 400)
    response["X-Experience-API-Consistent-Through"] = timezone.now().isoformat()
    return _answer(response)


def _single(request: HttpRequest) -> bool:
    keys = set(request.GET)
    if not keys & {"statementId", "voidedStatementId"}:
        return False
    if not keys <= SINGLE_PARAMS or {"statementId", "voidedStatementId"} <= keys:
        raise BadRequest("statementId/voidedStatementId go only with attachments and format")
    return True


def _lookup(request: HttpRequest, principal: credentials.Principal) -> HttpResponse:
    voided = "voidedStatementId" in request.GET
    statement_id = request.GET["voidedStatementId" if voided else "statementId"]
    if not is_uuid(statement_id):
        raise BadRequest("the statement id must be a UUID")
    found = find_statement(
        deployment_id=principal.deployment_id, statement_id=statement_id.lower(), voided=voided
    )
    if found is None:
        return _error("no such statement", 404)
    return JsonResponse(found)


def _query(request: HttpRequest, principal: credentials.Principal) -> HttpResponse:
    params = request.GET
    since, until = params.get("since"), params.get("until")
    window = {k: parse_timestamp(v) for k, v in (("since", since), ("until", until)) if v}
    if None in window.values():
        raise BadRequest("since and until must be ISO 8601 timestamps")
    limit = params.get("limit", "0")
    if not limit.isdigit():
        raise BadRequest("limit must be a non-negative integer")
    found = query_statements(
        deployment_id=principal.deployment_id,
        verb=params.get("verb", ""),
        activity=params.get("activity", ""),
        registration=params.get("registration", "").lower(),
        since=window.get("since"),
        until=window.get("until"),
        ascending=params.get("ascending", "false").lower() == "true",
        limit=min(int(limit) or 100, 100),
    )
    return JsonResponse({"statements": found, "more": ""})


def about(request: HttpRequest) -> HttpResponse:
    """Which xAPI versions this LRS speaks; open to anyone, no version header needed."""
    return _answer(JsonResponse({"version": SUPPORTED_VERSIONS, "extensions": {}}))
