"""Caliper events and entities mapped to what Finishline records. Pure.

`to_event` turns a valid event into an `EngagementEvent`, or None when it names no learner.
The learner is whoever the event is about: an Attempt's `assignee` (a GradeEvent's actor is the
grader, never the learner; Canvas's submission and quiz events carry the submitter there), a
timed-out Session's `user`, else the actor when it is a Person. People and courses are named
as the sender names them: an LTI user and context from the federated LTI session, Canvas's own
ids (`urn:instructure:canvas:user:N`, `…:course:N`) for Canvas, a SystemIdentifier, else the
IRI; the event store resolves those names. The item is an Attempt's assignable (the
assignment), else the object. `describes` reads what entity "describes" in an envelope tell
about people (names) and content (titles).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from completion.data import ActorRef, EngagementEvent
from completion.ingest.caliper import vocabulary as model
from completion.ingest.caliper.validation import CANVAS, CANVAS_ID, is_canvas, parse_time
from completion.ingest.limits import MAX_IRI_LENGTH
from completion.ingest.xapi.validation import duration_seconds

__all__ = ["parse_time"]
LTI_CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"
CANVAS_USER = CANVAS_ID + "user:"
CANVAS_COURSE = CANVAS_ID + "course:"
CANVAS_ASSIGNMENT = CANVAS_ID + "assignment:"
ANONYMOUS = "http://purl.imsglobal.org/caliper/Person"
# (event type, action) -> Finishline verb; an action absent here is "other".
VERBS: Mapping[tuple[str, str], str] = {
    ("SessionEvent", "LoggedIn"): "logged_in",
    ("SessionEvent", "LoggedOut"): "logged_out",
    ("SessionEvent", "TimedOut"): "logged_out",
    ("NavigationEvent", "NavigatedTo"): "viewed",
    ("ViewEvent", "Viewed"): "viewed",
    ("AssessmentEvent", "Started"): "attempted",
    ("AssessmentEvent", "Restarted"): "attempted",
    ("AssessmentEvent", "Resumed"): "progressed",
    ("AssessmentEvent", "Paused"): "progressed",
    ("AssessmentEvent", "Reset"): "progressed",
    ("AssessmentEvent", "Submitted"): "submitted",
    ("AssessmentItemEvent", "Started"): "progressed",
    ("AssessmentItemEvent", "Completed"): "progressed",
    ("AssessmentItemEvent", "Skipped"): "progressed",
    ("AssignableEvent", "Started"): "attempted",
    ("AssignableEvent", "Submitted"): "submitted",
    ("AssignableEvent", "Completed"): "completed",
    ("GradeEvent", "Graded"): "submitted",  # a graded submission, on the learner graded
    ("AnnotationEvent", "Bookmarked"): "progressed",
    ("AnnotationEvent", "Highlighted"): "progressed",
    ("AnnotationEvent", "Shared"): "posted",
    ("AnnotationEvent", "Tagged"): "progressed",
    ("FeedbackEvent", "Commented"): "posted",
    ("FeedbackEvent", "Ranked"): "posted",
    ("MessageEvent", "Posted"): "posted",
    ("MessageEvent", "MarkedAsRead"): "viewed",
    ("ThreadEvent", "MarkedAsRead"): "viewed",
    ("ThreadEvent", "Created"): "posted",  # Canvas's discussion_topic_created
    ("MediaEvent", "Started"): "viewed",
    ("MediaEvent", "Resumed"): "viewed",
    ("MediaEvent", "Restarted"): "viewed",
    ("MediaEvent", "Ended"): "completed",
    ("QuestionnaireEvent", "Started"): "attempted",
    ("QuestionnaireEvent", "Submitted"): "submitted",
    ("QuestionnaireEvent", "Completed"): "completed",
    ("QuestionnaireItemEvent", "Started"): "progressed",
    ("QuestionnaireItemEvent", "Completed"): "progressed",
    ("QuestionnaireItemEvent", "Skipped"): "progressed",
    ("ResourceManagementEvent", "Downloaded"): "viewed",
    ("ResourceManagementEvent", "Retrieved"): "viewed",
    ("ToolLaunchEvent", "Launched"): "launched",
    ("ToolUseEvent", "Used"): "launched",
    ("LibraryUseEvent", "Used"): "viewed",
    ("ResourceUseEvent", "Accessed"): "viewed",
}
MEDIA_PROGRESS = model.MEDIA_ACTIONS - {"Started", "Resumed", "Restarted", "Ended"}
KINDS = (
    ("assessment", ("Assessment", "Quiz", "Attempt", "Questionnaire", "Survey", "Assignable")),
    ("forum", ("Forum", "Thread", "Message", "Annotation")),
    ("video", ("Video", "Audio", "Media", "Image")),
    ("module", ("Course", "Module", "Chapter")),
    ("link", ("LtiLink", "SoftwareApplication")),
    ("page", ("Page", "Document", "WebPage", "DigitalResource", "Reading", "Frame")),
)
# Canvas's asset_type (asset_accessed) -> item kind.
CANVAS_ASSETS = {
    "assignment": "assessment",
    "quizzes:quiz": "assessment",
    "quiz": "assessment",
    "discussion_topic": "forum",
    "wiki_page": "page",
    "attachment": "page",
    "course": "module",
    "context_module": "module",
    "external_tool": "link",
}


@dataclass(frozen=True)
class Described:
    """What an entity describe tells: a person's name or a piece of content's title."""

    entity_id: str
    is_person: bool
    name: str
    actor: ActorRef | None  # how to find the person (people only)


def _entity_id(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return ""


def _canvas_extension(entity: Any) -> Mapping[str, Any]:
    if not isinstance(entity, Mapping):
        return {}
    extensions = entity.get("extensions")
    value = extensions.get(CANVAS) if isinstance(extensions, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _lti_parameters(event: Mapping[str, Any]) -> Mapping[str, Any]:
    session = event.get("federatedSession")
    params = session.get("messageParameters") if isinstance(session, Mapping) else None
    return params if isinstance(params, Mapping) else {}


def _type_of(entity: Any) -> str:
    return str(entity.get("type", "")) if isinstance(entity, Mapping) else ""


def _attempt(entity: Any) -> Mapping[str, Any]:
    """The entity when it is an Attempt given as an object, else an empty mapping."""
    return entity if isinstance(entity, Mapping) and entity.get("type") == "Attempt" else {}


# --- people ---------------------------------------------------------------------------------------


def learner(event: Mapping[str, Any]) -> Any:
    """The entity (or IRI) of the learner an event is about, or None if it names none."""
    obj = event.get("object")
    kind = str(event.get("type", ""))
    if _attempt(obj).get("assignee"):
        return _attempt(obj)["assignee"]
    if kind == "GradeEvent":  # never the grader
        generated = event.get("generated")
        attempt = generated.get("attempt") if isinstance(generated, Mapping) else None
        return attempt.get("assignee") if isinstance(attempt, Mapping) else None
    if kind == "SessionEvent" and isinstance(obj, Mapping) and obj.get("type") == "Session":
        return obj.get("user")
    actor = event.get("actor")
    if isinstance(actor, Mapping) and actor.get("type", "Person") != "Person":
        return None  # software or an organisation acting: no learner
    if _entity_id(actor) == ANONYMOUS:
        return None
    return actor


def person_ref(person: Any, *, lti: Mapping[str, Any] | None = None) -> ActorRef:
    """How to find a person: LTI user id, Canvas user id, SIS id or email, else the IRI."""
    person_id = _entity_id(person)
    canvas = _canvas_extension(person)
    sourced = str(canvas.get("user_sis_id") or canvas.get("sis_id") or "")
    login = str(canvas.get("user_login") or "")
    email = login if "@" in login else ""
    sub = str((lti or {}).get("sub") or (lti or {}).get("user_id") or "")
    if isinstance(person, Mapping):
        for identifier in person.get("otherIdentifiers") or ():
            if not isinstance(identifier, Mapping):
                continue
            value, kind = str(identifier.get("identifier", "")), identifier.get("identifierType")
            if kind == "LtiUserId" and not sub:
                sub = value
            elif kind in {"SisSourcedId", "LisSourcedId", "OneRosterSourcedId"} and not sourced:
                sourced = value
            elif kind == "EmailAddress" and not email:
                email = value
    if not sub and person_id.startswith(CANVAS_USER):
        sub = person_id  # the event store resolves it by the person's Canvas user id
    return ActorRef(sub=(sub or person_id)[:255], email=email[:255], sourced_id=sourced[:255])


def actor_ref(event: Mapping[str, Any]) -> ActorRef | None:
    """The learner's ActorRef, or None when the event names no learner."""
    person = learner(event)
    if not _entity_id(person):
        return None
    # The LTI session's user is the actor: only theirs when the learner is the actor.
    lti = _lti_parameters(event) if person is event.get("actor") else None
    return person_ref(person, lti=lti)


# --- courses and items ------------------------------------------------------------------------


def course_key(event: Mapping[str, Any]) -> str:
    """How the event names its course: the LTI context id, a Canvas course (or, without one,
    the Canvas assignment the event's attempt is for), else the group's IRI; "" if none."""
    params = _lti_parameters(event)
    context = params.get(LTI_CONTEXT)
    if isinstance(context, Mapping) and context.get("id"):
        return str(context["id"])
    if params.get("context_id"):
        return str(params["context_id"])
    group = event.get("group")
    canvas = _canvas_extension(group)
    if canvas.get("lti_context_id"):
        return str(canvas["lti_context_id"])
    if _entity_id(group):
        return _entity_id(group)
    membership = event.get("membership")
    organization = membership.get("organization") if isinstance(membership, Mapping) else None
    if _entity_id(organization):
        return _entity_id(organization)
    obj = event.get("object")
    if _entity_id(obj).startswith(CANVAS_COURSE):
        return _entity_id(obj)
    assignable = obj.get("assignable") if isinstance(obj, Mapping) else None
    if _entity_id(assignable).startswith(CANVAS_ASSIGNMENT):
        return _entity_id(assignable)
    return ""


def item_kind(entity_type: str) -> str:
    for kind, words in KINDS:
        if any(word in entity_type for word in words):
            return kind
    return "other"


def _item(event: Mapping[str, Any]) -> tuple[str, str, str]:
    """(id, kind, title) of what the event was done to: an attempt's assignable, else the
    object."""
    obj = event.get("object")
    target: Any = _attempt(obj).get("assignable") or obj
    canvas = _canvas_extension(target)
    kind = CANVAS_ASSETS.get(str(canvas.get("asset_type", "")), "") or item_kind(_type_of(target))
    title = ""
    if isinstance(target, Mapping):
        title = str(target.get("name") or canvas.get("asset_name") or "")
    return _entity_id(target)[:MAX_IRI_LENGTH], kind, title[:500]


def _verb(event: Mapping[str, Any]) -> str:
    kind, action = str(event.get("type", "")), str(event.get("action", ""))
    if kind == "MediaEvent" and action in MEDIA_PROGRESS:
        return "progressed"
    return VERBS.get((kind, action), "other")


def _score(event: Mapping[str, Any]) -> float | None:
    """Scaled 0..1 from a Score or Result; None when the two numbers cannot be a fraction
    (Canvas's grade_change has been seen with scoreGiven above maxScore)."""
    generated = event.get("generated")
    if not isinstance(generated, Mapping):
        return None
    given = generated.get("scoreGiven", generated.get("resultScore"))
    maximum = generated.get("maxScore", generated.get("maxResultScore"))
    numbers = all(type(v) in (int, float) for v in (given, maximum))
    if not numbers or maximum <= 0 or not 0 <= given <= maximum:
        return None
    return float(given) / float(maximum)


def _duration(event: Mapping[str, Any]) -> float | None:
    for place in ("generated", "object"):
        attempt = _attempt(event.get(place))
        if attempt:
            return duration_seconds(attempt.get("duration"))
    return None


def to_event(event: Mapping[str, Any]) -> EngagementEvent | None:
    """The engagement event of a valid Caliper event, or None when it names no learner."""
    actor = actor_ref(event)
    occurred = parse_time(event.get("eventTime"))
    if actor is None or occurred is None:
        return None
    item_id, kind, title = _item(event)
    return EngagementEvent(
        actor=actor,
        course_key=course_key(event)[:MAX_IRI_LENGTH],
        verb=_verb(event),
        occurred_at=occurred,
        source="caliper",
        source_id=str(event["id"])[9:].lower(),  # the UUID of urn:uuid:…
        item_id=item_id,
        item_kind=kind,
        item_title=title,
        duration_seconds=_duration(event),
        score=_score(event),
    )


def describes(item: Mapping[str, Any]) -> list[Described]:
    """What an entity describe (and the entities nested in it) tells about names and titles."""
    found: list[Described] = []
    stack: list[Any] = [item]
    while stack and len(found) < 1000:
        entity = stack.pop()
        if not isinstance(entity, Mapping):
            continue
        kind, entity_id, name = _type_of(entity), _entity_id(entity), entity.get("name")
        if entity_id and isinstance(name, str) and name.strip():
            person = model.is_subtype(kind, "Person")
            found.append(
                Described(
                    entity_id=entity_id[:MAX_IRI_LENGTH],
                    is_person=person,
                    name=name.strip()[:500],
                    actor=person_ref(entity) if person else None,
                )
            )
        stack.extend(v for v in entity.values() if isinstance(v, Mapping))
        stack.extend(e for v in entity.values() if isinstance(v, list) for e in v)
    return found


def occurred(item: Mapping[str, Any]) -> datetime | None:
    return parse_time(item.get("eventTime"))


__all__ += ["CANVAS_COURSE", "CANVAS_USER", "is_canvas"]
