"""Caliper 1.1 and 1.2 envelopes (Canvas Live Events and other sensors) into events. Pure.

`validate_envelope` checks the envelope (`sensor`, `sendTime`, `dataVersion`, `data[]`) and
every event (id, type, action allowed for the type, actor, object, eventTime) and returns the
problems, indexed by event. `to_event` maps a valid event to an `EngagementEvent`: the person
from the LTI user id in the federated session or Canvas's extension, the course from the LTI
context id (federated session, Canvas extension) or the `group` id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from completion.data import ActorRef, EngagementEvent

DATA_VERSIONS = {
    "http://purl.imsglobal.org/ctx/caliper/v1p1",
    "http://purl.imsglobal.org/ctx/caliper/v1p2",
}
ACTIONS: Mapping[str, frozenset[str]] = {
    "Event": frozenset(),  # any action
    "SessionEvent": frozenset({"LoggedIn", "LoggedOut", "TimedOut"}),
    "NavigationEvent": frozenset({"NavigatedTo"}),
    "ViewEvent": frozenset({"Viewed"}),
    "AssessmentEvent": frozenset(
        {"Started", "Paused", "Resumed", "Restarted", "Reset", "Submitted"}
    ),
    "AssessmentItemEvent": frozenset({"Started", "Skipped", "Completed"}),
    "GradeEvent": frozenset({"Graded"}),
    "ForumEvent": frozenset({"Subscribed", "Unsubscribed"}),
    "MessageEvent": frozenset({"Posted", "MarkedAsRead", "MarkedAsUnRead"}),
    "MediaEvent": frozenset(
        {
            "Started",
            "Ended",
            "Paused",
            "Resumed",
            "Restarted",
            "ForwardedTo",
            "JumpedTo",
            "ChangedResolution",
            "ChangedSize",
            "ChangedSpeed",
            "ChangedVolume",
            "EnabledClosedCaptioning",
            "DisabledClosedCaptioning",
            "EnteredFullScreen",
            "ExitedFullScreen",
            "Muted",
            "Unmuted",
            "OpenedPopout",
            "ClosedPopout",
        }
    ),
    "ToolUseEvent": frozenset({"Used"}),
}
VERBS: Mapping[tuple[str, str], str] = {
    ("SessionEvent", "LoggedIn"): "logged_in",
    ("SessionEvent", "LoggedOut"): "logged_out",
    ("SessionEvent", "TimedOut"): "logged_out",
    ("NavigationEvent", "NavigatedTo"): "viewed",
    ("ViewEvent", "Viewed"): "viewed",
    ("AssessmentEvent", "Started"): "attempted",
    ("AssessmentEvent", "Submitted"): "submitted",
    ("AssessmentItemEvent", "Completed"): "progressed",
    ("AssessmentItemEvent", "Started"): "progressed",
    ("MessageEvent", "Posted"): "posted",
    ("MediaEvent", "Started"): "viewed",
    ("MediaEvent", "Ended"): "completed",
    ("MediaEvent", "Paused"): "progressed",
    ("MediaEvent", "Resumed"): "viewed",
    ("ToolUseEvent", "Used"): "launched",
    ("GradeEvent", "Graded"): "submitted",
}
KINDS = (
    ("assessment", ("Assessment", "Quiz", "Attempt")),
    ("forum", ("Forum", "Thread", "Message")),
    ("video", ("Video", "Audio", "Media")),
    ("module", ("Course", "Module", "Chapter")),
    ("page", ("Page", "Document", "WebPage", "DigitalResource", "Reading")),
)
CANVAS = "com.instructure.canvas"


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _entity_id(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return ""


def validate_event(event: Any) -> list[str]:
    if not isinstance(event, Mapping):
        return ["must be an object"]
    problems = []
    kind, action = str(event.get("type")), event.get("action")
    if kind not in ACTIONS:
        problems.append(f"type {kind!r} is not a supported Caliper event type")
    elif ACTIONS[kind] and action not in ACTIONS[kind]:
        problems.append(f"action {action!r} is not allowed for {kind}")
    if not isinstance(event.get("id"), str) or not str(event.get("id")).startswith("urn:uuid:"):
        problems.append("id must be a urn:uuid")
    for key in ("actor", "object"):
        if not _entity_id(event.get(key)):
            problems.append(f"{key} must be an entity or its IRI")
    if parse_time(event.get("eventTime")) is None:
        problems.append("eventTime must be an ISO 8601 time with a time zone")
    return problems


def validate_envelope(envelope: Any) -> list[str]:
    """Every problem of the envelope and its events, as 'data[i]: reason'."""
    if not isinstance(envelope, Mapping):
        return ["the envelope must be a JSON object"]
    problems = []
    if not isinstance(envelope.get("sensor"), str) or not envelope.get("sensor"):
        problems.append("sensor: required")
    if parse_time(envelope.get("sendTime")) is None:
        problems.append("sendTime: must be an ISO 8601 time with a time zone")
    if envelope.get("dataVersion") not in DATA_VERSIONS:
        problems.append("dataVersion: must be the Caliper 1.1 or 1.2 context IRI")
    data = envelope.get("data")
    if not isinstance(data, list) or not data:
        return [*problems, "data: must be a non-empty list of events"]
    for index, event in enumerate(data):
        problems.extend(f"data[{index}]: {p}" for p in validate_event(event))
    return problems


def _extension(entity: Any) -> Mapping[str, Any]:
    if not isinstance(entity, Mapping):
        return {}
    extensions = entity.get("extensions") or {}
    value = extensions.get(CANVAS) if isinstance(extensions, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def actor_ref(event: Mapping[str, Any]) -> ActorRef:
    session = event.get("federatedSession") or {}
    params = session.get("messageParameters") or {} if isinstance(session, Mapping) else {}
    sub = str(params.get("user_id") or params.get("sub") or "")
    canvas = _extension(event.get("actor"))
    sourced = str(canvas.get("user_sis_id") or canvas.get("entity_id") or "")
    if not sub and canvas.get("user_login"):
        sourced = sourced or str(canvas["user_login"])
    return ActorRef(
        sub=sub or sourced, sourced_id=sourced, email=str(canvas.get("user_email", "") or "")
    )


def course_key(event: Mapping[str, Any]) -> str:
    session = event.get("federatedSession") or {}
    params = session.get("messageParameters") or {} if isinstance(session, Mapping) else {}
    context = params.get("https://purl.imsglobal.org/spec/lti/claim/context") or {}
    if isinstance(context, Mapping) and context.get("id"):
        return str(context["id"])
    if params.get("context_id"):
        return str(params["context_id"])
    canvas = _extension(event.get("group")) or _extension(event)
    if canvas.get("lti_context_id"):
        return str(canvas["lti_context_id"])
    return _entity_id(event.get("group"))


def item_kind(entity_type: str) -> str:
    for kind, words in KINDS:
        if any(word in entity_type for word in words):
            return kind
    return "other"


def to_event(event: Mapping[str, Any]) -> EngagementEvent:
    kind, action = str(event["type"]), str(event.get("action", ""))
    obj = event.get("object")
    entity_type = str(obj.get("type", "")) if isinstance(obj, Mapping) else ""
    score = success = None
    verb = VERBS.get((kind, action), "other")
    generated = event.get("generated")
    if kind == "GradeEvent" and isinstance(generated, Mapping):
        given, maximum = generated.get("scoreGiven"), generated.get("maxScore")
        if isinstance(given, int | float) and isinstance(maximum, int | float) and maximum > 0:
            score = max(0.0, min(1.0, given / maximum))
    occurred = parse_time(event["eventTime"])
    assert occurred is not None
    name = obj.get("name", "") if isinstance(obj, Mapping) else ""
    return EngagementEvent(
        actor=actor_ref(event),
        course_key=course_key(event),
        verb=verb,
        occurred_at=occurred,
        source="caliper",
        source_id=str(event["id"]).removeprefix("urn:uuid:"),
        item_id=_entity_id(obj),
        item_kind=item_kind(entity_type),
        item_title=str(name)[:500],
        score=score,
        success=success,
    )
