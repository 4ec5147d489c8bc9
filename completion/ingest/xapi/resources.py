"""xAPI's document resources and the Activities and Agents resources (Communication 2.3-2.7).

State (/activities/state), Activity Profile (/activities/profile) and Agent Profile
(/agents/profile) take GET, HEAD, PUT, POST and DELETE; Activities (/activities) and Agents
(/agents) take GET and HEAD. Each request is scoped to its credential's deployment. Views parse
and check parameters (names are case-sensitive; unknown ones are refused) and call one store
function; the rules are in `documents`, the writes in `document_store`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from completion.ingest.limits import MAX_IRI_LENGTH, InputRefused, parse_json
from completion.ingest.xapi import document_store, documents
from completion.ingest.xapi.activities import activity_object
from completion.ingest.xapi.documents import DocumentKey, DocumentRefused
from completion.ingest.xapi.protocol import (
    BadRequest,
    XapiRequest,
    check_params,
    error,
    json_answer,
    serve,
)
from completion.ingest.xapi.statements import agent_identity, is_iri, is_uuid, parse_timestamp
from completion.ingest.xapi.store import agent_names, known_activity
from completion.ingest.xapi.validation import IFI_KEYS, validate_actor
from lti_tool.keys import credentials

DOCUMENT_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
MAX_DOCUMENT_ID = 1000  # characters of a stateId or profileId
MAX_CONTENT_TYPE = 255


# --- parameters -----------------------------------------------------------------------------


def _activity_id(params: Mapping[str, str]) -> str:
    value = params.get("activityId", "")
    if not is_iri(value):
        raise BadRequest(f"activityId must be an IRI of at most {MAX_IRI_LENGTH} characters")
    return value


def _agent(params: Mapping[str, str]) -> dict[str, Any]:
    """The `agent` parameter: an Agent (or identified Group) as JSON, by its one IFI."""
    try:
        value = parse_json(params.get("agent", ""))
    except InputRefused as exc:
        raise BadRequest(f"agent must be an Agent as JSON: {exc}") from exc
    problems: list[str] = []
    validate_actor(value, "agent", problems)
    if problems:
        raise BadRequest(problems[0])
    try:
        return agent_identity(value)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc


def _registration(params: Mapping[str, str]) -> str:
    value = params.get("registration")
    if value is None:
        return ""
    if not is_uuid(value):
        raise BadRequest("registration must be a UUID")
    return value.lower()


def _document_id(params: Mapping[str, str], name: str, *, required: bool) -> str:
    value = params.get(name)
    if value is None:
        if required:
            raise BadRequest(f"the {name} parameter is required")
        return ""
    if not value or len(value) > MAX_DOCUMENT_ID:
        raise BadRequest(f"{name} must be 1 to {MAX_DOCUMENT_ID} characters")
    return value


def _since(params: Mapping[str, str]) -> Any:
    if "since" not in params:
        return None
    since = parse_timestamp(params["since"])
    if since is None:
        raise BadRequest("since must be an ISO 8601 timestamp with a time zone")
    return since


# --- the three document resources -------------------------------------------------------------


@csrf_exempt
def state(request: HttpRequest) -> HttpResponse:
    return serve(request, methods=DOCUMENT_METHODS, handler=_state)


@csrf_exempt
def activity_profile(request: HttpRequest) -> HttpResponse:
    return serve(request, methods=DOCUMENT_METHODS, handler=_activity_profile)


@csrf_exempt
def agent_profile(request: HttpRequest) -> HttpResponse:
    return serve(request, methods=DOCUMENT_METHODS, handler=_agent_profile)


def _state(xreq: XapiRequest, principal: credentials.Principal) -> HttpResponse:
    names = {"activityId", "agent", "registration", "stateId"}
    params = check_params(xreq, _with_since(xreq, names), required=("activityId", "agent"))
    writing = xreq.method in {"PUT", "POST"}
    key = DocumentKey(
        documents.STATE,
        activity_id=_activity_id(params),
        agent=_agent(params),
        registration=_registration(params),
        document_id=_document_id(params, "stateId", required=writing),
    )
    return _document(xreq, principal, key, since=_since(params), precondition_required=False)


def _activity_profile(xreq: XapiRequest, principal: credentials.Principal) -> HttpResponse:
    params = check_params(
        xreq, _with_since(xreq, {"activityId", "profileId"}), required=("activityId",)
    )
    key = DocumentKey(
        documents.ACTIVITY_PROFILE,
        activity_id=_activity_id(params),
        document_id=_document_id(params, "profileId", required=_needs_id(xreq)),
    )
    return _document(xreq, principal, key, since=_since(params), precondition_required=True)


def _agent_profile(xreq: XapiRequest, principal: credentials.Principal) -> HttpResponse:
    params = check_params(xreq, _with_since(xreq, {"agent", "profileId"}), required=("agent",))
    key = DocumentKey(
        documents.AGENT_PROFILE,
        agent=_agent(params),
        document_id=_document_id(params, "profileId", required=_needs_id(xreq)),
    )
    return _document(xreq, principal, key, since=_since(params), precondition_required=True)


def _with_since(xreq: XapiRequest, names: set[str]) -> set[str]:
    return names | {"since"} if xreq.method in {"GET", "HEAD"} else names


def _needs_id(xreq: XapiRequest) -> bool:
    """A profile's PUT, POST and DELETE name one document (only State deletes a set)."""
    return xreq.method in {"PUT", "POST", "DELETE"}


def _document(
    xreq: XapiRequest,
    principal: credentials.Principal,
    key: DocumentKey,
    *,
    since: Any,
    precondition_required: bool,
) -> HttpResponse:
    deployment_id = principal.deployment_id
    if xreq.method in {"GET", "HEAD"}:
        return _read(deployment_id, key, since)
    try:
        if xreq.method == "DELETE":
            document_store.delete_documents(
                deployment_id=deployment_id, key=key, if_match=xreq.header("If-Match")
            )
        else:
            _write(xreq, deployment_id, key, precondition_required)
    except DocumentRefused as exc:
        raise BadRequest(str(exc), exc.status) from exc
    return HttpResponse(status=204)


def _write(
    xreq: XapiRequest, deployment_id: int, key: DocumentKey, precondition_required: bool
) -> None:
    content_type = xreq.header("Content-Type").strip() or "application/octet-stream"
    if len(content_type) > MAX_CONTENT_TYPE:
        raise BadRequest(f"Content-Type may be at most {MAX_CONTENT_TYPE} characters")
    if xreq.method == "POST" and not xreq.body:
        raise BadRequest("POST needs a document in its body")
    common: dict[str, Any] = {
        "deployment_id": deployment_id,
        "key": key,
        "content_type": content_type,
        "content": xreq.body,
        "if_match": xreq.header("If-Match"),
        "if_none_match": xreq.header("If-None-Match"),
    }
    if xreq.method == "PUT":
        document_store.put_document(**common, precondition_required=precondition_required)
    else:
        document_store.post_document(**common)


def _read(deployment_id: int, key: DocumentKey, since: Any) -> HttpResponse:
    if not key.document_id:
        return json_answer(
            document_store.document_ids(deployment_id=deployment_id, key=key, since=since)
        )
    found = document_store.read_document(deployment_id=deployment_id, key=key)
    if found is None:
        return error("no such document", 404)
    response = HttpResponse(found.content, content_type=found.content_type)
    response["ETag"] = f'"{found.etag}"'
    response["Last-Modified"] = http_date(found.updated_at.timestamp())
    return response


# --- Activities and Agents --------------------------------------------------------------------


@csrf_exempt
def activities(request: HttpRequest) -> HttpResponse:
    return serve(request, methods=("GET", "HEAD"), handler=_activities)


@csrf_exempt
def agents(request: HttpRequest) -> HttpResponse:
    return serve(request, methods=("GET", "HEAD"), handler=_agents)


def _activities(xreq: XapiRequest, principal: credentials.Principal) -> HttpResponse:
    params = check_params(xreq, {"activityId"}, required=("activityId",))
    activity_id = _activity_id(params)
    definition = known_activity(deployment_id=principal.deployment_id, activity_id=activity_id)
    return json_answer(activity_object(activity_id, definition))


def _agents(xreq: XapiRequest, principal: credentials.Principal) -> HttpResponse:
    """The Person this LRS knows behind an agent: its identifier and the names it was given."""
    params = check_params(xreq, {"agent"}, required=("agent",))
    identity = _agent(params)
    if identity["objectType"] != "Agent":
        raise BadRequest("agent must be an Agent, not a Group")
    person: dict[str, Any] = {"objectType": "Person"}
    names = agent_names(deployment_id=principal.deployment_id, identity=identity)
    asked = parse_json(params["agent"]).get("name")
    if isinstance(asked, str) and asked and asked not in names:
        names.insert(0, asked)
    if names:
        person["name"] = names
    for ifi in IFI_KEYS:
        if ifi in identity:
            person[ifi] = [identity[ifi]]
    return json_answer(person)
