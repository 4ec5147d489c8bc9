"""xAPI 1.0.3 statements: validation, normalisation and mapping to events. Pure.

`validate_statement` checks a statement against the Data part of xAPI 1.0.3 (actor and its
inverse functional identifier, verb, object types including StatementRef and SubStatement,
result and score, context, timestamps, UUIDs, language maps, IRIs, extensions, attachments,
voiding) and returns the problems found, most important first. `to_event` maps a valid
statement to an `EngagementEvent` (verb vocabulary of ADL, cmi5, the video profile and Moodle's
logstore_xapi). What the LRS adds (`stored`, `authority`, `version`) is `normalise`'s job.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from completion.data import ActorRef, EngagementEvent

STATEMENT_KEYS = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}
SUBSTATEMENT_KEYS = {
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "attachments",
    "objectType",
}
AGENT_KEYS = {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
GROUP_KEYS = AGENT_KEYS | {"member"}
ACTIVITY_KEYS = {"objectType", "id", "definition"}
DEFINITION_KEYS = {
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
}
RESULT_KEYS = {"score", "success", "completion", "response", "duration", "extensions"}
SCORE_KEYS = {"scaled", "raw", "min", "max"}
CONTEXT_KEYS = {
    "registration",
    "instructor",
    "team",
    "contextActivities",
    "revision",
    "platform",
    "language",
    "statement",
    "extensions",
}
CONTEXT_ACTIVITY_KEYS = {"parent", "grouping", "category", "other"}
ATTACHMENT_KEYS = {
    "usageType",
    "display",
    "description",
    "contentType",
    "length",
    "sha2",
    "fileUrl",
}
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
ISO_DURATION = re.compile(
    r"^P(?!$)(\d+(?:\.\d+)?Y)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?W)?(\d+(?:\.\d+)?D)?"
    r"(T(?=\d)(\d+(?:\.\d+)?H)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?S)?)?$"
)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
MBOX = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")
SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
SHA2 = re.compile(r"^[0-9a-fA-F]{56,128}$")


class Problems:
    """Collects the reasons a statement is invalid, with the path to each."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")


def is_iri(value: Any) -> bool:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return bool(parts.scheme) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", parts.scheme) is not None


def is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value.lower() and len(value) == 36
    except ValueError:
        return False


def parse_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not TIMESTAMP.match(value):
        return None
    text = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None or value.endswith("-00:00") or value.endswith("-0000"):
        return None  # xAPI requires an offset, and forbids -00:00
    return parsed


def duration_seconds(value: str) -> float | None:
    match = ISO_DURATION.match(value)
    if not match:
        return None
    groups = match.groups()
    y, mo, w, d, h, mi, s = (float(g[:-1]) if g else 0.0 for g in groups[:4] + groups[5:])
    return ((((y * 365 + mo * 30 + w * 7 + d) * 24 + h) * 60 + mi) * 60) + s


def _object(value: Any, path: str, p: Problems) -> Mapping[str, Any] | None:
    if not isinstance(value, Mapping):
        p.add(path, "must be an object")
        return None
    return value


def _extra_keys(obj: Mapping[str, Any], allowed: set[str], path: str, p: Problems) -> None:
    for key in obj:
        if key not in allowed:
            p.add(f"{path}.{key}", "is not allowed here")


def _language_map(value: Any, path: str, p: Problems) -> None:
    obj = _object(value, path, p)
    if obj is None:
        return
    for tag, text in obj.items():
        if not LANGUAGE_TAG.match(str(tag)):
            p.add(path, f"{tag!r} is not a language tag")
        if not isinstance(text, str):
            p.add(f"{path}.{tag}", "must be a string")


def _extensions(value: Any, path: str, p: Problems) -> None:
    obj = _object(value, path, p)
    if obj is not None:
        for key in obj:
            if not is_iri(key):
                p.add(path, f"key {key!r} is not an IRI")


def validate_actor(
    value: Any, path: str, p: Problems, *, allow_anonymous_group: bool = True
) -> None:
    actor = _object(value, path, p)
    if actor is None:
        return
    kind = actor.get("objectType", "Agent")
    if kind not in {"Agent", "Group"}:
        p.add(f"{path}.objectType", "must be Agent or Group")
        return
    _extra_keys(actor, GROUP_KEYS if kind == "Group" else AGENT_KEYS, path, p)
    ifis = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in actor]
    if len(ifis) > 1:
        p.add(path, "must have exactly one inverse functional identifier")
    if not ifis and (kind == "Agent" or not allow_anonymous_group):
        p.add(path, "needs an inverse functional identifier (mbox, mbox_sha1sum, openid, account)")
    if "name" in actor and not isinstance(actor["name"], str):
        p.add(f"{path}.name", "must be a string")
    if "mbox" in actor and not (isinstance(actor["mbox"], str) and MBOX.match(actor["mbox"])):
        p.add(f"{path}.mbox", "must be a mailto: IRI")
    if "mbox_sha1sum" in actor and not (
        isinstance(actor["mbox_sha1sum"], str) and SHA1.match(actor["mbox_sha1sum"])
    ):
        p.add(f"{path}.mbox_sha1sum", "must be a SHA-1 hex digest")
    if "openid" in actor and not is_iri(actor["openid"]):
        p.add(f"{path}.openid", "must be a URI")
    if "account" in actor:
        account = _object(actor["account"], f"{path}.account", p)
        if account is not None:
            _extra_keys(account, {"homePage", "name"}, f"{path}.account", p)
            if not is_iri(account.get("homePage")):
                p.add(f"{path}.account.homePage", "must be an IRL")
            if not isinstance(account.get("name"), str) or not account.get("name"):
                p.add(f"{path}.account.name", "is required")
    if kind == "Group":
        members = actor.get("member", [] if ifis else None)
        if members is None or not isinstance(members, list):
            p.add(f"{path}.member", "an anonymous Group needs a member list")
            return
        for n, member in enumerate(members):
            m = _object(member, f"{path}.member[{n}]", p)
            if m is not None and m.get("objectType", "Agent") != "Agent":
                p.add(f"{path}.member[{n}]", "a Group's members must be Agents")
            validate_actor(member, f"{path}.member[{n}]", p)


def validate_verb(value: Any, path: str, p: Problems) -> None:
    verb = _object(value, path, p)
    if verb is None:
        return
    _extra_keys(verb, {"id", "display"}, path, p)
    if not is_iri(verb.get("id")):
        p.add(f"{path}.id", "must be an IRI")
    if "display" in verb:
        _language_map(verb["display"], f"{path}.display", p)


def validate_object(
    value: Any, path: str, p: Problems, *, inside_substatement: bool = False
) -> None:
    obj = _object(value, path, p)
    if obj is None:
        return
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        _extra_keys(obj, ACTIVITY_KEYS, path, p)
        if not is_iri(obj.get("id")):
            p.add(f"{path}.id", "an Activity needs an IRI id")
        if "definition" in obj:
            definition = _object(obj["definition"], f"{path}.definition", p)
            if definition is not None:
                _extra_keys(definition, DEFINITION_KEYS, f"{path}.definition", p)
                for key in ("name", "description"):
                    if key in definition:
                        _language_map(definition[key], f"{path}.definition.{key}", p)
                for key in ("type", "moreInfo"):
                    if key in definition and not is_iri(definition[key]):
                        p.add(f"{path}.definition.{key}", "must be an IRI")
                if "extensions" in definition:
                    _extensions(definition["extensions"], f"{path}.definition.extensions", p)
    elif kind in {"Agent", "Group"}:
        validate_actor(obj, path, p)
    elif kind == "StatementRef":
        _extra_keys(obj, {"objectType", "id"}, path, p)
        if not is_uuid(obj.get("id")):
            p.add(f"{path}.id", "a StatementRef needs a UUID id")
    elif kind == "SubStatement":
        if inside_substatement:
            p.add(path, "a SubStatement cannot contain a SubStatement")
            return
        _extra_keys(obj, SUBSTATEMENT_KEYS, path, p)
        for key in ("id", "stored", "version", "authority"):
            if key in obj:
                p.add(f"{path}.{key}", "is not allowed in a SubStatement")
        _validate_body(obj, path, p, inside_substatement=True)
    else:
        p.add(f"{path}.objectType", f"{kind!r} is not an object type")


def validate_result(value: Any, path: str, p: Problems) -> None:
    result = _object(value, path, p)
    if result is None:
        return
    _extra_keys(result, RESULT_KEYS, path, p)
    for key in ("success", "completion"):
        if key in result and not isinstance(result[key], bool):
            p.add(f"{path}.{key}", "must be true or false")
    if "response" in result and not isinstance(result["response"], str):
        p.add(f"{path}.response", "must be a string")
    if "duration" in result and (
        not isinstance(result["duration"], str) or duration_seconds(result["duration"]) is None
    ):
        p.add(f"{path}.duration", "must be an ISO 8601 duration")
    if "extensions" in result:
        _extensions(result["extensions"], f"{path}.extensions", p)
    if "score" in result:
        _validate_score(result["score"], f"{path}.score", p)


def _validate_score(value: Any, path: str, p: Problems) -> None:
    score = _object(value, path, p)
    if score is None:
        return
    _extra_keys(score, SCORE_KEYS, path, p)
    for key in SCORE_KEYS & set(score):
        if isinstance(score[key], bool) or not isinstance(score[key], int | float):
            p.add(f"{path}.{key}", "must be a number")
            return
    if "scaled" in score and not -1 <= score["scaled"] <= 1:
        p.add(f"{path}.scaled", "must be between -1 and 1")
    low, high, raw = score.get("min"), score.get("max"), score.get("raw")
    if low is not None and high is not None and low >= high:
        p.add(path, "min must be less than max")
    if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
        p.add(f"{path}.raw", "must lie between min and max")


def validate_context(value: Any, path: str, p: Problems, object_kind: str) -> None:
    context = _object(value, path, p)
    if context is None:
        return
    _extra_keys(context, CONTEXT_KEYS, path, p)
    if "registration" in context and not is_uuid(context["registration"]):
        p.add(f"{path}.registration", "must be a UUID")
    if "instructor" in context:
        validate_actor(context["instructor"], f"{path}.instructor", p)
    if "team" in context:
        team = _object(context["team"], f"{path}.team", p)
        if team is not None and team.get("objectType") != "Group":
            p.add(f"{path}.team", "must be a Group")
        validate_actor(context["team"], f"{path}.team", p)
    for key in ("revision", "platform"):
        if key in context:
            if not isinstance(context[key], str):
                p.add(f"{path}.{key}", "must be a string")
            if object_kind != "Activity":
                p.add(f"{path}.{key}", "is only allowed when the object is an Activity")
    if "language" in context and not (
        isinstance(context["language"], str) and LANGUAGE_TAG.match(context["language"])
    ):
        p.add(f"{path}.language", "must be a language tag")
    if "statement" in context:
        ref = _object(context["statement"], f"{path}.statement", p)
        if ref is not None and (
            ref.get("objectType") != "StatementRef" or not is_uuid(ref.get("id"))
        ):
            p.add(f"{path}.statement", "must be a StatementRef")
    if "extensions" in context:
        _extensions(context["extensions"], f"{path}.extensions", p)
    if "contextActivities" in context:
        activities = _object(context["contextActivities"], f"{path}.contextActivities", p)
        if activities is not None:
            _extra_keys(activities, CONTEXT_ACTIVITY_KEYS, f"{path}.contextActivities", p)
            for key, entries in activities.items():
                listed = entries if isinstance(entries, list) else [entries]
                for n, activity in enumerate(listed):
                    sub = f"{path}.contextActivities.{key}[{n}]"
                    a = _object(activity, sub, p)
                    if a is not None and a.get("objectType", "Activity") != "Activity":
                        p.add(sub, "must be an Activity")
                    validate_object(activity, sub, p)


def validate_attachments(value: Any, path: str, p: Problems) -> None:
    if not isinstance(value, list):
        p.add(path, "must be an array")
        return
    for n, attachment in enumerate(value):
        sub = f"{path}[{n}]"
        a = _object(attachment, sub, p)
        if a is None:
            continue
        _extra_keys(a, ATTACHMENT_KEYS, sub, p)
        if not is_iri(a.get("usageType")):
            p.add(f"{sub}.usageType", "must be an IRI")
        if "display" not in a:
            p.add(f"{sub}.display", "is required")
        else:
            _language_map(a["display"], f"{sub}.display", p)
        if not isinstance(a.get("contentType"), str) or "/" not in a.get("contentType", ""):
            p.add(f"{sub}.contentType", "must be an Internet media type")
        if (
            not isinstance(a.get("length"), int)
            or isinstance(a.get("length"), bool)
            or a["length"] < 0
        ):
            p.add(f"{sub}.length", "must be a non-negative integer")
        if not isinstance(a.get("sha2"), str) or not SHA2.match(a["sha2"]):
            p.add(f"{sub}.sha2", "must be a SHA-2 hex digest")
        if "fileUrl" in a and not is_iri(a["fileUrl"]):
            p.add(f"{sub}.fileUrl", "must be an IRL")


def _validate_body(
    statement: Mapping[str, Any], path: str, p: Problems, *, inside_substatement: bool = False
) -> None:
    for key in ("actor", "verb", "object"):
        if key not in statement:
            p.add(f"{path}.{key}", "is required")
    if "actor" in statement:
        validate_actor(statement["actor"], f"{path}.actor", p)
    if "verb" in statement:
        validate_verb(statement["verb"], f"{path}.verb", p)
    if "object" in statement:
        validate_object(
            statement["object"], f"{path}.object", p, inside_substatement=inside_substatement
        )
    if "result" in statement:
        validate_result(statement["result"], f"{path}.result", p)
    if "context" in statement:
        kind = (
            statement.get("object", {}).get("objectType", "Activity")
            if isinstance(statement.get("object"), Mapping)
            else "Activity"
        )
        validate_context(statement["context"], f"{path}.context", p, kind)
    if "timestamp" in statement and parse_timestamp(statement["timestamp"]) is None:
        p.add(f"{path}.timestamp", "must be an ISO 8601 timestamp with a time zone")
    if "attachments" in statement:
        validate_attachments(statement["attachments"], f"{path}.attachments", p)


def validate_statement(statement: Any) -> list[str]:
    """Every problem of a statement, as 'path: reason'; an empty list means valid."""
    p = Problems()
    if not isinstance(statement, Mapping):
        return ["statement: must be a JSON object"]
    _extra_keys(statement, STATEMENT_KEYS, "statement", p)
    if "id" in statement and not is_uuid(statement["id"]):
        p.add("statement.id", "must be a UUID")
    if "stored" in statement and parse_timestamp(statement["stored"]) is None:
        p.add("statement.stored", "must be an ISO 8601 timestamp with a time zone")
    if "version" in statement and not (
        isinstance(statement["version"], str) and re.match(r"^1\.0(\.\d+)?$", statement["version"])
    ):
        p.add("statement.version", "must be a 1.0.x version")
    if "authority" in statement:
        validate_actor(statement["authority"], "statement.authority", p)
    _validate_body(statement, "statement", p)
    verb = statement.get("verb")
    if isinstance(verb, Mapping) and verb.get("id") == VOIDED:
        target = statement.get("object")
        if not isinstance(target, Mapping) or target.get("objectType") != "StatementRef":
            p.add("statement.object", "a voiding statement's object must be a StatementRef")
    return p.items


def voided_target(statement: Mapping[str, Any]) -> str | None:
    verb = statement.get("verb", {})
    if isinstance(verb, Mapping) and verb.get("id") == VOIDED:
        return str(statement["object"]["id"]).lower()
    return None


# --- mapping ----------------------------------------------------------------------------

_ADL = "http://adlnet.gov/expapi/verbs/"
_CMI5 = "https://w3id.org/xapi/adl/verbs/"
_VIDEO = "https://w3id.org/xapi/video/verbs/"
VERBS: Mapping[str, str] = {
    _ADL + "launched": "launched",
    _ADL + "initialized": "launched",
    _ADL + "experienced": "viewed",
    _ADL + "attended": "viewed",
    _ADL + "progressed": "progressed",
    _ADL + "completed": "completed",
    _ADL + "attempted": "attempted",
    _ADL + "passed": "passed",
    _ADL + "failed": "failed",
    _ADL + "answered": "submitted",
    _ADL + "scored": "submitted",
    _ADL + "commented": "posted",
    _ADL + "shared": "posted",
    _ADL + "responded": "posted",
    _ADL + "interacted": "progressed",
    _ADL + "terminated": "other",
    _ADL + "suspended": "other",
    _ADL + "resumed": "viewed",
    _ADL + "logged-in": "logged_in",
    _ADL + "logged-out": "logged_out",
    _CMI5 + "satisfied": "completed",
    _CMI5 + "waived": "completed",
    _CMI5 + "abandoned": "other",
    _CMI5 + "logged-in": "logged_in",
    _CMI5 + "logged-out": "logged_out",
    _VIDEO + "played": "viewed",
    _VIDEO + "paused": "progressed",
    _VIDEO + "seeked": "progressed",
    _VIDEO + "completed": "completed",
    "https://w3id.org/xapi/video/verbs/interacted": "progressed",
    "http://id.tincanapi.com/verb/viewed": "viewed",
    "http://id.tincanapi.com/verb/replied": "posted",
    "http://id.tincanapi.com/verb/created": "posted",
    "http://activitystrea.ms/schema/1.0/submit": "submitted",
    "http://activitystrea.ms/schema/1.0/create": "posted",
    "http://activitystrea.ms/schema/1.0/post": "posted",
    "https://w3id.org/xapi/dod-isd/verbs/received": "viewed",
    "http://adlnet.gov/expapi/verbs/error": "errored",
    "https://w3id.org/xapi/adb/verbs/errored": "errored",
}
_KINDS = (
    (
        "assessment",
        ("assessment", "quiz", "test", "exam", "question", "interaction", "cmi.interaction"),
    ),
    ("video", ("video", "media", "audio")),
    ("forum", ("forum", "discussion", "chat", "comment", "reply", "post")),
    ("module", ("module", "course", "lesson", "unit", "section")),
    ("page", ("page", "file", "resource", "url", "book", "document", "link")),
)
COURSE_KEY_EXTENSIONS = (
    "https://purl.imsglobal.org/spec/lti/claim/context",
    "http://lrs.learninglocker.net/define/extensions/lti_context_id",
    "https://w3id.org/xapi/lti/context_id",
)


def item_kind(activity_type: str) -> str:
    lowered = activity_type.lower()
    for kind, words in _KINDS:
        if any(word in lowered for word in words):
            return kind
    return "other"


def actor_ref(actor: Mapping[str, Any]) -> ActorRef:
    account = actor.get("account") or {}
    mbox = str(actor.get("mbox", ""))
    name = str(account.get("name", "")) if isinstance(account, Mapping) else ""
    return ActorRef(sub=name, email=mbox.removeprefix("mailto:"), sourced_id=name)


def course_key(statement: Mapping[str, Any]) -> str:
    """The LTI context id the statement names: an extension, else the grouping activity's id."""
    context = statement.get("context") or {}
    extensions = context.get("extensions") or {}
    for key in COURSE_KEY_EXTENSIONS:
        value = extensions.get(key)
        if isinstance(value, Mapping):
            value = value.get("id")
        if value:
            return str(value)
    activities = context.get("contextActivities") or {}
    for key in ("grouping", "parent"):
        entries = activities.get(key) or []
        for activity in entries if isinstance(entries, list) else [entries]:
            definition = activity.get("definition") or {}
            if item_kind(str(definition.get("type", ""))) == "module" or key == "grouping":
                return str(activity.get("id", ""))
    return ""


def to_event(statement: Mapping[str, Any], *, stored: datetime) -> EngagementEvent | None:
    """The engagement event a valid statement records (None for agents as objects)."""
    obj = statement["object"]
    if obj.get("objectType", "Activity") != "Activity":
        return None
    result = statement.get("result") or {}
    score_obj = result.get("score") or {}
    score = score_obj.get("scaled")
    if score is None and score_obj.get("raw") is not None and score_obj.get("max"):
        low = score_obj.get("min", 0)
        score = (score_obj["raw"] - low) / (score_obj["max"] - low)
    definition = obj.get("definition") or {}
    names = definition.get("name") or {}
    timestamp = parse_timestamp(statement.get("timestamp")) or stored
    verb = VERBS.get(statement["verb"]["id"], "other")
    return EngagementEvent(
        actor=actor_ref(statement["actor"]),
        course_key=course_key(statement),
        verb=verb,
        occurred_at=timestamp,
        source="xapi",
        source_id=str(statement["id"]).lower(),
        item_id=str(obj["id"]),
        item_kind=item_kind(str(definition.get("type", ""))),
        item_title=str(next(iter(names.values()), "")) if isinstance(names, Mapping) else "",
        duration_seconds=duration_seconds(result["duration"]) if "duration" in result else None,
        score=max(0.0, min(1.0, float(score))) if score is not None else None,
        success=result.get("success"),
    )
