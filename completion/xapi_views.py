"""The xAPI statements resource (POST, PUT, GET), for LRS clients, with HTTP Basic auth."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from completion.ingest.xapi import is_uuid, validate_statement
from completion.xapi_store import (
    StatementConflict,
    StatementRejected,
    find_statement,
    store_statements,
)
from lti_tool import credentials
from lti_tool.models import Deployment

log = logging.getLogger("finishline.xapi")
VERSION = "1.0.3"
DEFAULT_MAX_BODY = 5 * 1024 * 1024


def _error(message: str, status: int, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    response["X-Experience-API-Version"] = VERSION
    for key, value in headers.items():
        response[key] = value
    return response


def _principal(request: HttpRequest) -> credentials.Principal | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Basic "):
        return None
    try:
        key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return credentials.authenticate(kind="xapi", key=key, secret=secret)


def _authority(principal: credentials.Principal) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "name": f"Finishline credential {principal.credential_id}",
        "account": {"homePage": settings.TOOL_BASE_URL, "name": str(principal.credential_id)},
    }


@csrf_exempt
def statements(request: HttpRequest) -> HttpResponse:
    principal = _principal(request)
    if principal is None:
        return _error(
            "valid HTTP Basic credentials for this LRS are required",
            401,
            **{"WWW-Authenticate": 'Basic realm="Finishline xAPI"'},
        )
    if not credentials.allow_request(principal):
        return _error("too many requests for this credential", 429, **{"Retry-After": "60"})
    version = request.headers.get("X-Experience-API-Version", "")
    if not version.startswith("1.0"):
        return _error("the X-Experience-API-Version header must be 1.0.x", 400)
    deployment = Deployment.objects.get(pk=principal.deployment_id)
    if request.method == "GET":
        return _get(request, deployment)
    if request.method not in {"POST", "PUT"}:
        return _error("method not allowed", 405)
    limit = settings.FINISHLINE.get("XAPI_MAX_BODY", DEFAULT_MAX_BODY)
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit or len(request.body) > limit:
        return _error(f"the body is larger than {limit} bytes", 413)
    if not (request.content_type or "").startswith("application/json"):
        return _error(
            "only application/json statements are accepted (multipart attachments "
            "are not supported)",
            400,
        )
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _error("the body is not JSON", 400)
    return _store(request, deployment, principal, payload)


def _store(
    request: HttpRequest, deployment: Deployment, principal: credentials.Principal, payload: Any
) -> HttpResponse:
    if request.method == "PUT":
        statement_id = request.GET.get("statementId", "")
        if not is_uuid(statement_id):
            return _error("PUT needs a statementId query parameter (a UUID)", 400)
        if (
            not isinstance(payload, dict)
            or str(payload.get("id", statement_id)).lower() != statement_id.lower()
        ):
            return _error("the statement's id does not match statementId", 400)
        batch = [{**payload, "id": statement_id}]
    else:
        batch = payload if isinstance(payload, list) else [payload]
    for n, statement in enumerate(batch):
        problems = validate_statement(statement)
        if problems:
            log.info(
                "xapi_rejected credential=%s index=%s reason=%r",
                principal.credential_id,
                n,
                problems[0],
            )
            return _error(f"statement {n}: {problems[0]}", 400)
    try:
        ids = store_statements(
            deployment=deployment, statements=batch, authority=_authority(principal)
        )
    except StatementConflict as exc:
        return _error(str(exc), 409)
    except StatementRejected as exc:
        return _error(str(exc), 400)
    if request.method == "PUT":
        response = HttpResponse(status=204)
    else:
        response = JsonResponse(ids, safe=False)
    response["X-Experience-API-Version"] = VERSION
    return response


def _get(request: HttpRequest, deployment: Deployment) -> HttpResponse:
    statement_id = request.GET.get("statementId") or request.GET.get("voidedStatementId") or ""
    if not is_uuid(statement_id):
        return _error(
            "GET needs statementId or voidedStatementId (a UUID); queries are not supported", 400
        )
    found = find_statement(
        deployment=deployment,
        statement_id=statement_id.lower(),
        voided="voidedStatementId" in request.GET,
    )
    if found is None:
        return _error("no such statement", 404)
    response = JsonResponse(found)
    response["X-Experience-API-Version"] = VERSION
    return response


def about(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"version": ["1.0.3", "1.0.2", "1.0.1", "1.0.0"]})
