"""xAPI 1.0.3 statements: validation, what the LRS adds, comparison, and mapping to events. Pure.

Validation lives in `xapi_validation` and is re-exported here. `normalise` adds what an LRS
sets (`id`, `timestamp`, `stored`, `authority`, `version`); `comparable` is the form two
statements with one id are compared in (Data 2.3.1: LRS-set properties, verb displays, activity
definitions, group member order and case-insensitive parts do not count). `to_event` maps a
statement to an `EngagementEvent` with the verb table below (ADL, cmi5, the video profile,
Moodle's logstore_xapi, H5P, Tin Can). Storage, conflicts and voiding are the store's job.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from completion.data import ActorRef, EngagementEvent
from completion.ingest.xapi.validation import (
    IFI_KEYS,
    VOIDED,
    duration_seconds,
    is_iri,
    is_uuid,
    is_voiding,
    parse_timestamp,
    validate_statement,
)

__all__ = [
    "IFI_KEYS",
    "VOIDED",
    "agent_identity",
    "comparable",
    "course_key",
    "duration_seconds",
    "is_iri",
    "is_uuid",
    "is_voiding",
    "normalise",
    "parse_timestamp",
    "same_statement",
    "to_event",
    "validate_statement",
    "voided_target",
    "with_activity_lists",
]

LRS_SET = ("stored", "authority", "version")


def normalise(
    statement: Mapping[str, Any], *, stored: datetime, authority: Mapping[str, Any]
) -> dict[str, Any]:
    """The statement as stored: every property received, plus what the LRS sets.

    The id is lower-cased (UUIDs compare case-insensitively), `timestamp` defaults to
    `stored`, `authority` is always the credential's (the client is not trusted to assert one),
    and `version` is kept when sent, else 1.0.0.
    """
    full = dict(statement)
    full["id"] = str(statement.get("id") or uuid.uuid4()).lower()
    stamp = stored.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    full.setdefault("timestamp", stamp)
    full["stored"] = stamp
    full["authority"] = dict(authority)
    full["version"] = statement.get("version") or "1.0.0"
    return with_activity_lists(full)


def with_activity_lists(statement: Mapping[str, Any]) -> dict[str, Any]:
    """The statement with each context activity given alone turned into a one-item array, here
    and in a SubStatement object (Data 2.4.6.2: the LRS returns arrays). Copies only what
    changes."""
    out = dict(statement)
    obj = out.get("object")
    if isinstance(obj, Mapping) and obj.get("objectType") == "SubStatement":
        out["object"] = with_activity_lists(obj)
    context = out.get("context")
    if not isinstance(context, Mapping):
        return out
    lists = context.get("contextActivities")
    if isinstance(lists, Mapping) and any(not isinstance(v, list) for v in lists.values()):
        out["context"] = {
            **context,
            "contextActivities": {k: _as_list(v) for k, v in lists.items()},
        }
    return out


def voided_target(statement: Mapping[str, Any]) -> str | None:
    """The (lower-case) id a voiding statement voids, else None."""
    verb = statement.get("verb")
    obj = statement.get("object")
    if isinstance(verb, Mapping) and verb.get("id") == VOIDED and isinstance(obj, Mapping):
        return str(obj.get("id", "")).lower()
    return None


def referenced(statement: Mapping[str, Any]) -> str | None:
    """The (lower-case) id of the statement a StatementRef object targets, else None."""
    obj = statement.get("object")
    if isinstance(obj, Mapping) and obj.get("objectType") == "StatementRef":
        return str(obj.get("id", "")).lower()
    return None


def agent_identity(agent: Any) -> dict[str, Any]:
    """The objectType and the one inverse functional identifier of a query's agent."""
    if not isinstance(agent, dict):
        raise ValueError("agent must be a JSON object")
    kind = agent.get("objectType", "Agent")
    if kind not in {"Agent", "Group"}:
        raise ValueError("agent's objectType must be Agent or Group")
    found = [k for k in IFI_KEYS if k in agent]
    if len(found) != 1:
        raise ValueError("agent needs exactly one of mbox, mbox_sha1sum, openid or account")
    key = found[0]
    value = agent[key]
    if key == "account":
        if not (
            isinstance(value, dict)
            and isinstance(value.get("homePage"), str)
            and isinstance(value.get("name"), str)
        ):
            raise ValueError("agent's account needs a homePage and a name")
        value = {"homePage": value["homePage"], "name": value["name"]}
    elif not isinstance(value, str) or not value:
        raise ValueError(f"agent's {key} must be a non-empty string")
    return {"objectType": kind, key: value}


# --- lookup keys (for indexed statement queries) ---------------------------------------------


def agent_key(agent: object, default_kind: str | None) -> str | None:
    """A fixed-length key of an identified Agent or Group: its objectType (default_kind when
    absent) and its inverse functional identifier. None for anything else (an anonymous
    Group, an Activity). Hashed because IRIs and account names have no length limit and a
    B-tree entry does."""
    if not isinstance(agent, Mapping):
        return None
    kind = agent.get("objectType", default_kind)
    found = [k for k in IFI_KEYS if k in agent]
    if kind not in ("Agent", "Group") or len(found) != 1:
        return None
    value = agent[found[0]]
    if found[0] == "account":
        if not isinstance(value, Mapping):
            return None
        value = json.dumps([value.get("homePage"), value.get("name")])
    elif found[0] == "mbox_sha1sum":  # hex: case does not matter
        value = str(value).lower()
    return _digest(f"{kind}\n{found[0]}\n{value}")


def activity_key(activity_id: str) -> str:
    return _digest(f"Activity\n{activity_id}")


def actor_key(statement: Mapping[str, Any]) -> str | None:
    return agent_key(statement.get("actor"), "Agent")


def object_key(statement: Mapping[str, Any]) -> str | None:
    """The key of the statement's object when it is an Activity or an identified agent."""
    obj = statement.get("object")
    if not isinstance(obj, Mapping):
        return None
    if obj.get("objectType", "Activity") == "Activity":
        return activity_key(str(obj.get("id", "")))
    return agent_key(obj, None)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


# --- comparison (Data 2.3.1) ------------------------------------------------------------------


def comparable(statement: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a statement that must match when the same id is sent again."""
    out = {k: v for k, v in statement.items() if k not in LRS_SET and k != "timestamp"}
    out["id"] = str(statement.get("id", "")).lower()
    _canon_body(out)
    return out


def same_statement(stored: Mapping[str, Any], received: Mapping[str, Any]) -> bool:
    """True when `received` is `stored` sent again (ignoring what the LRS may change)."""
    if comparable(stored) != comparable(received):
        return False
    if "timestamp" not in received:  # the LRS set it, so it cannot differ
        return True
    return parse_timestamp(stored.get("timestamp")) == parse_timestamp(received["timestamp"])


def _canon_body(body: dict[str, Any]) -> None:
    if isinstance(body.get("actor"), Mapping):
        body["actor"] = _canon_actor(body["actor"])
    if isinstance(body.get("verb"), Mapping):
        body["verb"] = {"id": body["verb"].get("id")}
    obj = body.get("object")
    if isinstance(obj, Mapping):
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            body["object"] = {"objectType": "Activity", "id": obj.get("id")}
        elif kind in {"Agent", "Group"}:
            body["object"] = _canon_actor(obj)
        elif kind == "StatementRef":
            body["object"] = {"objectType": kind, "id": str(obj.get("id", "")).lower()}
        elif kind == "SubStatement":
            sub = {k: v for k, v in obj.items() if k != "timestamp"}
            _canon_body(sub)
            body["object"] = sub
    if isinstance(body.get("context"), Mapping):
        body["context"] = _canon_context(body["context"])


def _canon_actor(actor: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in actor.items() if k != "member"}
    out.setdefault("objectType", "Agent")
    mbox = out.get("mbox")
    if isinstance(mbox, str) and "@" in mbox:
        local, _, domain = mbox.rpartition("@")
        out["mbox"] = f"{local}@{domain.lower()}"
    if isinstance(out.get("mbox_sha1sum"), str):
        out["mbox_sha1sum"] = out["mbox_sha1sum"].lower()
    if isinstance(actor.get("member"), list):
        members = [_canon_actor(m) for m in actor["member"] if isinstance(m, Mapping)]
        out["member"] = sorted(members, key=repr)
    return out


def _canon_context(context: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(context)
    if isinstance(out.get("registration"), str):
        out["registration"] = out["registration"].lower()
    for key in ("instructor", "team"):
        if isinstance(out.get(key), Mapping):
            out[key] = _canon_actor(out[key])
    if isinstance(out.get("statement"), Mapping):
        out["statement"] = {**out["statement"], "id": str(out["statement"].get("id")).lower()}
    activities = out.get("contextActivities")
    if isinstance(activities, Mapping):
        out["contextActivities"] = {
            key: [a.get("id") for a in _as_list(value) if isinstance(a, Mapping)]
            for key, value in activities.items()
        }
    return out


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- mapping to engagement events -------------------------------------------------------------

_ADL = "http://adlnet.gov/expapi/verbs/"
_ADL_W3ID = "https://w3id.org/xapi/adl/verbs/"
_VIDEO = "https://w3id.org/xapi/video/verbs/"
_TINCAN = "http://id.tincanapi.com/verb/"
_AS = "http://activitystrea.ms/schema/1.0/"
VERBS: Mapping[str, str] = {
    # ADL vocabulary (also what cmi5 and H5P send)
    _ADL + "launched": "launched",
    _ADL + "initialized": "launched",
    _ADL + "experienced": "viewed",
    _ADL + "attended": "viewed",
    _ADL + "resumed": "viewed",
    _ADL + "progressed": "progressed",
    _ADL + "interacted": "progressed",
    _ADL + "completed": "completed",
    _ADL + "mastered": "completed",
    _ADL + "attempted": "attempted",
    _ADL + "passed": "passed",
    _ADL + "failed": "failed",
    _ADL + "answered": "submitted",
    _ADL + "scored": "submitted",
    _ADL + "commented": "posted",
    _ADL + "shared": "posted",
    _ADL + "responded": "posted",
    _ADL + "asked": "posted",
    _ADL + "registered": "other",
    _ADL + "terminated": "other",
    _ADL + "suspended": "other",
    _ADL + "exited": "other",
    _ADL + "imported": "other",
    _ADL + "created": "posted",
    _ADL + "logged-in": "logged_in",
    _ADL + "logged-out": "logged_out",
    # cmi5 defined verbs and ADL verbs on w3id
    _ADL_W3ID + "satisfied": "completed",
    _ADL_W3ID + "waived": "completed",
    _ADL_W3ID + "abandoned": "other",
    _ADL_W3ID + "logged-in": "logged_in",
    _ADL_W3ID + "logged-out": "logged_out",
    # the video profile
    _VIDEO + "played": "viewed",
    _VIDEO + "paused": "progressed",
    _VIDEO + "seeked": "progressed",
    _VIDEO + "completed": "completed",
    _VIDEO + "interacted": "progressed",
    # Moodle's logstore_xapi, Tin Can registry, Activity Streams
    _TINCAN + "viewed": "viewed",
    _TINCAN + "replied": "posted",
    _TINCAN + "created": "posted",
    _TINCAN + "submitted": "submitted",
    _TINCAN + "unregistered": "other",
    _TINCAN + "earned": "completed",
    _AS + "submit": "submitted",
    _AS + "create": "posted",
    _AS + "post": "posted",
    _AS + "add": "posted",
    _AS + "receive": "viewed",
    "https://w3id.org/xapi/dod-isd/verbs/received": "viewed",
    "https://w3id.org/xapi/dod-isd/verbs/answered": "submitted",
    "https://w3id.org/xapi/acrossx/verbs/submitted": "submitted",
    "https://w3id.org/xapi/acrossx/verbs/posted": "posted",
    "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/login": "logged_in",
    "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/logout": "logged_out",
    _ADL + "error": "errored",
    "https://w3id.org/xapi/adb/verbs/errored": "errored",
}
# Activity types and Moodle module names, matched as words in the type IRI or object id.
_KIND_WORDS = (
    (
        "assessment",
        (
            "assessment",
            "quiz",
            "test",
            "exam",
            "question",
            "interaction",
            "assign",
            "assignment",
            "workshop",
            "survey",
            "feedback",
        ),
    ),
    ("video", ("video", "media", "audio", "kalmediares", "kalvidres")),
    ("forum", ("forum", "discussion", "chat", "comment", "reply", "post", "glossary")),
    ("module", ("module", "course", "lesson", "unit", "section", "scorm", "au", "block")),
    ("page", ("page", "file", "resource", "url", "book", "document", "link", "webpage", "folder")),
)
_WORD = re.compile(r"[a-z0-9]+")
_MOODLE_MODULE = re.compile(r"/mod/([a-z0-9_]+)/")
_MOODLE_COURSE = re.compile(r"/course/view\.php\?id=(\d+)$")
# Where a statement names the LTI context (course) it belongs to, tried in this order.
COURSE_KEY_EXTENSIONS = (
    "https://purl.imsglobal.org/spec/lti/claim/context",
    "https://w3id.org/xapi/lti/context_id",
    "http://lrs.learninglocker.net/define/extensions/lti_context_id",
    "https://w3id.org/learning-analytics/learning-management-system/external-id",
)
COURSE_TYPES = (
    "http://id.tincanapi.com/activitytype/lms/course",
    "https://w3id.org/xapi/cmi5/activitytype/course",
    "http://adlnet.gov/expapi/activities/course",
)


def item_kind(activity_type: str, activity_id: str = "") -> str:
    """module / page / assessment / forum / video / other, from the type IRI, else the id."""
    words = set(_WORD.findall(activity_type.lower().rsplit("/", 2)[-1] if activity_type else ""))
    module = _MOODLE_MODULE.search(activity_id)
    if module:
        words.add(module.group(1))
    if not words:
        words = set(_WORD.findall(activity_type.lower()))
    for kind, names in _KIND_WORDS:
        if words.intersection(names):
            return kind
    return "other"


def actor_ref(actor: Mapping[str, Any]) -> ActorRef | None:
    """Ways to find the person: account name (as LTI sub or SIS id), mbox as email.

    mbox_sha1sum and openid cannot be matched to a roster; such events wait as pending.
    Groups are not people: None.
    """
    if actor.get("objectType") == "Group":
        return None
    account = actor.get("account")
    name = str(account.get("name", "")) if isinstance(account, Mapping) else ""
    mbox = actor.get("mbox")
    email = mbox[7:] if isinstance(mbox, str) and mbox.startswith("mailto:") else ""
    # The account name is tried as LTI sub and as SIS sourced id by the event store.
    return ActorRef(sub=name, email=email)


def course_key(statement: Mapping[str, Any]) -> str:
    """The LTI context id a statement belongs to, or "" when it names none.

    In order: an LTI context extension in context.extensions (an object with `id`, or a
    string); then the first grouping/parent activity typed as a course, whose Moodle course
    URL (`…/course/view.php?id=N`) gives `N` (Moodle's LTI context id) and otherwise its IRI;
    then the first grouping activity's IRI.
    """
    context = statement.get("context")
    if not isinstance(context, Mapping):
        return ""
    extensions = context.get("extensions")
    if isinstance(extensions, Mapping):
        for key in COURSE_KEY_EXTENSIONS:
            value = extensions.get(key)
            if isinstance(value, Mapping):
                value = value.get("id")
            if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
                return str(value)
    activities = context.get("contextActivities")
    if not isinstance(activities, Mapping):
        return ""
    candidates = [
        a
        for key in ("grouping", "parent")
        for a in _as_list(activities.get(key, []))
        if isinstance(a, Mapping) and isinstance(a.get("id"), str)
    ]
    for activity in candidates:
        definition = activity.get("definition")
        kind = definition.get("type") if isinstance(definition, Mapping) else None
        moodle = _MOODLE_COURSE.search(activity["id"])
        if kind in COURSE_TYPES or moodle:
            return moodle.group(1) if moodle else str(activity["id"])
    grouping = [a for a in _as_list(activities.get("grouping", [])) if isinstance(a, Mapping)]
    return str(grouping[0].get("id", "")) if grouping else ""


def _score(result: Mapping[str, Any]) -> float | None:
    score = result.get("score")
    if not isinstance(score, Mapping):
        return None
    value = score.get("scaled")
    if value is None and score.get("raw") is not None and score.get("max") is not None:
        low = score.get("min", 0)
        if score["max"] > low:
            value = (score["raw"] - low) / (score["max"] - low)
    return max(0.0, min(1.0, float(value))) if value is not None else None


def to_event(
    statement: Mapping[str, Any], *, stored: datetime | None = None
) -> EngagementEvent | None:
    """The engagement event a valid, normalised statement records, or None.

    None for voiding statements and for statements whose actor is a Group or whose object
    is not an Activity (they are kept as statements only).
    """
    obj = statement["object"]
    if obj.get("objectType", "Activity") != "Activity" or is_voiding(dict(statement)):
        return None
    actor = actor_ref(statement["actor"])
    if actor is None:
        return None
    result = statement.get("result") or {}
    definition = obj.get("definition") or {}
    names = definition.get("name") or {}
    occurred = parse_timestamp(statement.get("timestamp")) or stored
    if occurred is None:
        raise ValueError("a statement without timestamp needs `stored`")
    return EngagementEvent(
        actor=actor,
        course_key=course_key(statement),
        verb=VERBS.get(statement["verb"]["id"], "other"),
        occurred_at=occurred,
        source="xapi",
        source_id=str(statement["id"]).lower(),
        item_id=str(obj["id"]),
        item_kind=item_kind(str(definition.get("type", "")), str(obj["id"])),
        item_title=str(next(iter(names.values()), "")),
        duration_seconds=duration_seconds(result.get("duration")),
        score=_score(result),
        success=result.get("success"),
    )
