"""The xAPI statements resource (POST, PUT, GET, HEAD) and /about, for LRS clients. Thin.

The shared pipeline (`protocol.serve`: Alternate Request Syntax, body size 413, credential
401, rate 429, version 400, method 405) runs first; then parameters (unknown or wrongly cased
names are 400), parsing, validation and storing. Every GET answer, a refusal included, carries
`X-Experience-API-Consistent-Through`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from completion.ingest.limits import MAX_IRI_LENGTH, InputRefused, parse_json
from completion.ingest.xapi.activities import named_activities
from completion.ingest.xapi.attachments import (
    AttachmentError,
    check_attachments,
    multipart_body,
    parse_multipart,
)
from completion.ingest.xapi.formats import FORMATS, formatted
from completion.ingest.xapi.protocol import (
    BadRequest,
    XapiRequest,
    answer,
    authority,
    check_params,
    error,
    json_answer,
    serve,
)
from completion.ingest.xapi.statements import (
    agent_identity,
    course_key,
    is_iri,
    is_uuid,
    parse_timestamp,
    validate_statement,
)
from completion.ingest.xapi.store import (
    StatementConflict,
    StatementQuery,
    StatementRejected,
    attachments_of,
    find_statement,
    known_activities,
    query_statements,
    store_statements,
)
from lti_tool.keys import credentials

log = logging.getLogger("finishline.xapi")
SUPPORTED_VERSIONS = ["1.0.3", "1.0.2", "1.0.1", "1.0.0"]
QUERY_PARAMS = frozenset(
    {
        "statementId",
        "voidedStatementId",
        "agent",
        "verb",
        "activity",
        "registration",
        "related_activities",
        "related_agents",
        "since",
        "until",
        "limit",
        "format",
        "attachments",
        "ascending",
        "more",  # this LRS's own continuation of a paged query
    }
)
SINGLE_PARAMS = {"statementId", "voidedStatementId", "attachments", "format"}
MAX_PAGE = 100
MORE_SALT = "finishline.xapi.more"
MORE_LIFETIME = 48 * 3600  # the spec asks for at least 24 hours


@csrf_exempt
def statements(request: HttpRequest) -> HttpResponse:
    response = serve(request, methods=("GET", "HEAD", "POST", "PUT"), handler=_statements)
    if request.method in {"GET", "HEAD"} or request.GET.get("method", "").upper() in {
        "GET",
        "HEAD",
    }:
        response["X-Experience-API-Consistent-Through"] = timezone.now().isoformat()
    return response


def _statements(xreq: XapiRequest, principal: credentials.Principal) -> HttpResponse:
    if xreq.method in {"GET", "HEAD"}:
        check_params(xreq, QUERY_PARAMS)
        return _get(xreq, principal)
    check_params(xreq, {"statementId"} if xreq.method == "PUT" else ())
    try:
        batch, parts = _parse(xreq)
        _validate(batch, parts)
        ids = _store(principal, batch, parts)
    except (AttachmentError, StatementRejected, InputRefused) as exc:
        raise BadRequest(str(exc)) from exc
    except StatementConflict as exc:
        raise BadRequest(str(exc), 409) from exc
    return HttpResponse(status=204) if xreq.method == "PUT" else json_answer(ids)


def _store(
    principal: credentials.Principal, batch: list[Any], parts: dict[str, bytes]
) -> list[str]:
    """Store; a request racing this one with the same new id makes the second try see it."""
    for attempt in (1, 2):
        try:
            return store_statements(
                deployment_id=principal.deployment_id,
                statements=batch,
                authority=authority(principal),
                attachments=parts,
            )
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise BadRequest("a JSON object repeats a key")
    return obj


def _parse(xreq: XapiRequest) -> tuple[list[Any], dict[str, bytes]]:
    """The statements (always a list) and attachment parts by SHA-2."""
    body = xreq.body
    parts: dict[str, bytes] = {}
    if xreq.content_type == "multipart/mixed":
        body, parts = parse_multipart(body, xreq.header("Content-Type"))
    elif xreq.content_type != "application/json":
        raise BadRequest("Content-Type must be application/json or multipart/mixed")
    # The validator bounds every part of a statement but extension values, and checks those.
    payload = parse_json(body, object_pairs_hook=_no_duplicate_keys, check_depth=False)
    if xreq.method == "PUT":
        return [_put_statement(xreq, payload)], parts
    batch = payload if isinstance(payload, list) else [payload]
    if not batch:
        raise BadRequest("the body holds no statement")
    return batch, parts


def _put_statement(xreq: XapiRequest, payload: Any) -> Any:
    statement_id = xreq.params.get("statementId", "")
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
        if len(course_key(statement)) > MAX_IRI_LENGTH:
            raise BadRequest(
                f"statement {n}: the course it names (an LTI context id in context.extensions, "
                f"or a grouping activity) may be at most {MAX_IRI_LENGTH} characters long"
            )
    check_attachments(batch, parts)


def _get(xreq: XapiRequest, principal: credentials.Principal) -> HttpResponse:
    return _lookup(xreq, principal) if _single(xreq) else _query(xreq, principal)


def _single(xreq: XapiRequest) -> bool:
    keys = set(xreq.params)
    if not keys & {"statementId", "voidedStatementId"}:
        return False
    if not keys <= SINGLE_PARAMS or {"statementId", "voidedStatementId"} <= keys:
        raise BadRequest("statementId/voidedStatementId go only with attachments and format")
    return True


def _lookup(xreq: XapiRequest, principal: credentials.Principal) -> HttpResponse:
    voided = "voidedStatementId" in xreq.params
    statement_id = xreq.params["voidedStatementId" if voided else "statementId"]
    if not is_uuid(statement_id):
        raise BadRequest("the statement id must be a UUID")
    shape = _formatter(xreq, principal)
    found = find_statement(
        deployment_id=principal.deployment_id, statement_id=statement_id.lower(), voided=voided
    )
    if found is None:
        return error("no such statement", 404)
    return _with_attachments(xreq, principal, shape([found])[0], [found])


def _query(xreq: XapiRequest, principal: credentials.Principal) -> HttpResponse:
    shape = _formatter(xreq, principal)
    if "more" in xreq.params:
        query, after = _continued(xreq.params["more"], principal)
    else:
        query, after = _parse_query(xreq.params), None
    page = query_statements(deployment_id=principal.deployment_id, query=query, after=after)
    more = ""
    if page.next_after is not None:
        link = {"more": _more_token(query, page.next_after, principal)}
        for kept in ("format", "attachments"):  # the next pages keep this one's shape
            if kept in xreq.params:
                link[kept] = xreq.params[kept]
        more = f"{xreq.path}?" + urlencode(link)
    result = {"statements": shape(page.statements), "more": more}
    return _with_attachments(xreq, principal, result, page.statements)


def _with_attachments(
    xreq: XapiRequest,
    principal: credentials.Principal,
    document: dict[str, Any],
    statements: list[dict[str, Any]],
) -> HttpResponse:
    """JSON, or with `attachments=true` multipart/mixed: the JSON, then the statements'
    stored attachments (Communication 2.1.3)."""
    if not _flag(xreq.params, "attachments"):
        return json_answer(document)
    body, content_type = multipart_body(
        json.dumps(document).encode(),
        attachments_of(deployment_id=principal.deployment_id, statements=statements),
    )
    return HttpResponse(body, content_type=content_type)


def _formatter(
    xreq: XapiRequest, principal: credentials.Principal
) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """How to shape the statements returned: the `format` parameter (a `more` link's own);
    `canonical` with the definitions this LRS has merged for their activities."""
    fmt = xreq.params.get("format", "exact")
    if fmt not in FORMATS:
        raise BadRequest("format must be ids, exact or canonical")
    _flag(xreq.params, "attachments")
    languages = xreq.header("Accept-Language")

    def shape(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        definitions = {}
        if fmt == "canonical":
            named = {str(a.get("id", "")) for s in statements for a in named_activities(s)}
            definitions = known_activities(
                deployment_id=principal.deployment_id, activity_ids=named
            )
        return [formatted(s, fmt, languages, definitions) for s in statements]

    return shape


def _parse_query(params: Mapping[str, str]) -> StatementQuery:
    since, until = params.get("since"), params.get("until")
    window = {k: parse_timestamp(v) for k, v in (("since", since), ("until", until)) if v}
    if None in window.values() or "" in (since, until):
        raise BadRequest("since and until must be ISO 8601 timestamps")
    limit = params.get("limit", "0")
    if not limit.isdigit() or len(limit) > 9:
        raise BadRequest("limit must be a non-negative integer")
    agent = None
    if "agent" in params:
        try:
            agent = agent_identity(parse_json(params["agent"]))
        except ValueError as exc:  # JSONDecodeError and InputRefused are ValueErrors too
            raise BadRequest(f"agent: {exc}") from exc
    registration = params.get("registration", "")
    if registration and not is_uuid(registration):
        raise BadRequest("registration must be a UUID")
    for name in ("verb", "activity"):
        if name in params and not is_iri(params[name]):
            raise BadRequest(f"{name} must be an IRI (of at most {MAX_IRI_LENGTH} characters)")
    return StatementQuery(
        verb=params.get("verb", ""),
        activity=params.get("activity", ""),
        related_activities=_flag(params, "related_activities"),
        registration=registration.lower(),
        agent=agent,
        related_agents=_flag(params, "related_agents"),
        since=window.get("since"),
        # Pinned to now, so the pages a `more` link leads to hold no statement stored later.
        until=window.get("until") or timezone.now(),
        ascending=_flag(params, "ascending"),
        limit=min(int(limit) or MAX_PAGE, MAX_PAGE),
    )


def _flag(params: Mapping[str, str], name: str) -> bool:
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
    if request.method not in {"GET", "HEAD"}:
        return error("about takes GET and HEAD", 405, Allow="GET, HEAD")
    response = json_answer({"version": SUPPORTED_VERSIONS, "extensions": {}})
    if request.method == "HEAD":
        response.content = b""
    return answer(response)
