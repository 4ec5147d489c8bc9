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
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from completion.ingest.xapi.attachments import (
    AttachmentError,
    check_attachments,
    multipart_body,
    parse_multipart,
)
from completion.ingest.xapi.formats import FORMATS, formatted
from completion.ingest.xapi.statements import is_uuid, parse_timestamp, validate_statement
from completion.ingest.xapi.store import (
    StatementConflict,
    StatementQuery,
    StatementRejected,
    agent_identity,
    attachments_of,
    find_statement,
    query_statements,
    store_statements,
)
from lti_tool.keys import credentials

log = logging.getLogger("finishline.xapi")
VERSION = "1.0.3"
SUPPORTED_VERSIONS = ["1.0.3", "1.0.2", "1.0.1", "1.0.0"]
DEFAULT_MAX_BODY = 5 * 1024 * 1024
CLIENT_VERSION = re.compile(r"^1\.0(?:\.\d+)?$")
SINGLE_PARAMS = {"statementId", "voidedStatementId", "attachments", "format"}
MAX_PAGE = 100
MORE_SALT = "finishline.xapi.more"
MORE_LIFETIME = 48 * 3600  # the spec asks for at least 24 hours


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
        ids = _store(principal, batch, parts)
    except (BadRequest, AttachmentError, StatementRejected) as exc:
        log.info("xapi_rejected credential=%s reason=%r", principal.credential_id, str(exc))
        return _error(str(exc), 400)
    except StatementConflict as exc:
        return _error(str(exc), 409)
    return _answer(HttpResponse(status=204) if request.method == "PUT" else _ids(ids))


def _store(
    principal: credentials.Principal, batch: list[Any], parts: dict[str, bytes]
) -> list[str]:
    """Store; a request racing this one with the same new id makes the second try see it."""
    for attempt in (1, 2):
        try:
            return store_statements(
                deployment_id=principal.deployment_id,
                statements=batch,
                authority=_authority(principal),
                attachments=parts,
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
    return _with_attachments(request, principal, _formatter(request)(found), [found])


def _query(request: HttpRequest, principal: credentials.Principal) -> HttpResponse:
    shape = _formatter(request)
    if "more" in request.GET:
        query, after = _continued(request.GET["more"], principal)
    else:
        query, after = _parse_query(request), None
    page = query_statements(deployment_id=principal.deployment_id, query=query, after=after)
    more = ""
    if page.next_after is not None:
        link = {"more": _more_token(query, page.next_after, principal)}
        for kept in ("format", "attachments"):  # the next pages keep this one's shape
            if kept in request.GET:
                link[kept] = request.GET[kept]
        more = f"{request.path}?" + urlencode(link)
    result = {"statements": [shape(s) for s in page.statements], "more": more}
    return _with_attachments(request, principal, result, page.statements)


def _with_attachments(
    request: HttpRequest,
    principal: credentials.Principal,
    document: dict[str, Any],
    statements: list[dict[str, Any]],
) -> HttpResponse:
    """JSON, or with `attachments=true` multipart/mixed: the JSON, then the statements'
    stored attachments (Communication 2.1.3)."""
    if not _flag(request.GET, "attachments"):
        return JsonResponse(document)
    body, content_type = multipart_body(
        json.dumps(document).encode(),
        attachments_of(deployment_id=principal.deployment_id, statements=statements),
    )
    return HttpResponse(body, content_type=content_type)


def _formatter(request: HttpRequest) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """How to shape each statement returned: the `format` parameter (a `more` link's own)."""
    fmt = request.GET.get("format", "exact")
    if fmt not in FORMATS:
        raise BadRequest("format must be ids, exact or canonical")
    languages = request.headers.get("Accept-Language", "")
    return lambda statement: formatted(statement, fmt, languages)


def _parse_query(request: HttpRequest) -> StatementQuery:
    params = request.GET
    since, until = params.get("since"), params.get("until")
    window = {k: parse_timestamp(v) for k, v in (("since", since), ("until", until)) if v}
    if None in window.values():
        raise BadRequest("since and until must be ISO 8601 timestamps")
    limit = params.get("limit", "0")
    if not limit.isdigit():
        raise BadRequest("limit must be a non-negative integer")
    agent = None
    if "agent" in params:
        try:
            agent = agent_identity(json.loads(params["agent"]))
        except ValueError as exc:  # JSONDecodeError is a ValueError too
            raise BadRequest(f"agent: {exc}") from exc
    return StatementQuery(
        verb=params.get("verb", ""),
        activity=params.get("activity", ""),
        related_activities=_flag(params, "related_activities"),
        registration=params.get("registration", "").lower(),
        agent=agent,
        related_agents=_flag(params, "related_agents"),
        since=window.get("since"),
        # Pinned to now, so the pages a `more` link leads to hold no statement stored later.
        until=window.get("until") or timezone.now(),
        ascending=_flag(params, "ascending"),
        limit=min(int(limit) or MAX_PAGE, MAX_PAGE),
    )


def _flag(params: QueryDict, name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in {"true", "false"}:
        raise BadRequest(f"{name} must be true or false")
    return value == "true"


def _more_token(
    query: StatementQuery, after: tuple[datetime, int], principal: credentials.Principal
) -> str:
    stored, row_id = after
    state = {
        "deployment": principal.deployment_id,
        "query": {
            k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(query).items()
        },
        "after": [stored.isoformat(), row_id],
    }
    return signing.dumps(state, salt=MORE_SALT, compress=True)


def _continued(
    token: str, principal: credentials.Principal
) -> tuple[StatementQuery, tuple[datetime, int]]:
    """The query and position a `more` link carries; only for the deployment that made it."""
    try:
        state = signing.loads(token, salt=MORE_SALT, max_age=MORE_LIFETIME)
    except signing.BadSignature as exc:  # also an expired link
        raise BadRequest("the more link is not valid (or older than 48 hours)") from exc
    if state["deployment"] != principal.deployment_id:
        raise BadRequest("the more link belongs to another deployment")
    fields = dict(state["query"])
    for key in ("since", "until"):
        fields[key] = datetime.fromisoformat(fields[key]) if fields[key] else None
    stored, row_id = state["after"]
    return StatementQuery(**fields), (datetime.fromisoformat(stored), int(row_id))


def about(request: HttpRequest) -> HttpResponse:
    """Which xAPI versions this LRS speaks; open to anyone, no version header needed."""
    return _answer(JsonResponse({"version": SUPPORTED_VERSIONS, "extensions": {}}))
