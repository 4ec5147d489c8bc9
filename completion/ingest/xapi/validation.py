"""xAPI 1.0.3 statement validation (Data part, section 2 and 4), to the letter. Pure.

`validate_statement` returns every problem of one statement as "path: reason", most important
first, so an endpoint can answer 400 with the first. It checks the statement resource's rules:
allowed keys (case included), no nulls or empty objects outside extensions, actor/agent/group
and their one inverse functional identifier, verb, the five object types and the SubStatement
and StatementRef restrictions, interaction definitions, result and score bounds, context rules,
ISO 8601 timestamps, UUIDs, RFC 5646 language maps, IRIs, extensions, attachment headers,
authority and version, and that a voiding statement's object is a StatementRef.
It deliberately does not look at storage (conflicts, voiding targets) or attachment bodies.
Written for speed: no allocations on the happy path beyond the error list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from completion.ingest.limits import MAX_DEPTH, MAX_IRI_LENGTH, InputRefused, check_tree

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"

STATEMENT_KEYS = frozenset(
    {
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
)
SUBSTATEMENT_KEYS = frozenset(
    {"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}
)
IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
AGENT_KEYS = frozenset({"objectType", "name", *IFI_KEYS})
GROUP_KEYS = AGENT_KEYS | {"member"}
VERB_KEYS = frozenset({"id", "display"})
ACTIVITY_KEYS = frozenset({"objectType", "id", "definition"})
STATEMENT_REF_KEYS = frozenset({"objectType", "id"})
DEFINITION_KEYS = frozenset(
    {
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
)
COMPONENT_KEYS = frozenset({"id", "description"})
# Which interaction component lists each interaction type may carry (Data 2.4.4.1.s8).
COMPONENTS_BY_TYPE: dict[str, frozenset[str]] = {
    "true-false": frozenset(),
    "choice": frozenset({"choices"}),
    "fill-in": frozenset(),
    "long-fill-in": frozenset(),
    "matching": frozenset({"source", "target"}),
    "performance": frozenset({"steps"}),
    "sequencing": frozenset({"choices"}),
    "likert": frozenset({"scale"}),
    "numeric": frozenset(),
    "other": frozenset(),
}
COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
RESULT_KEYS = frozenset({"score", "success", "completion", "response", "duration", "extensions"})
SCORE_KEYS = frozenset({"scaled", "raw", "min", "max"})
CONTEXT_KEYS = frozenset(
    {
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
)
CONTEXT_ACTIVITY_KEYS = frozenset({"parent", "grouping", "category", "other"})
ATTACHMENT_KEYS = frozenset(
    {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"}
)
ACCOUNT_KEYS = frozenset({"homePage", "name"})

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Best-effort IRI (Data 2.2.s4.b6): a scheme, a colon, then no whitespace or forbidden characters.
IRI = re.compile(r'^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f<>"{}|\\^`]+$')
MBOX = re.compile(r"^mailto:[^\s@:/?#]+@[^\s@/?#]+$")
SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
SHA2 = re.compile(r"^(?:[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})$")
MEDIA_TYPE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]*"
    r"(?:\s*;\s*[A-Za-z0-9!#$&^_.+\-]+=(?:[^\s;\"]+|\"[^\"]*\"))*\s*$"
)
VERSION = re.compile(r"^1\.0(?:\.\d+)?$")
# RFC 5646 Language-Tag (langtag / privateuse / grandfathered), case-insensitive.
_ALNUM = "[A-Za-z0-9]"
LANGUAGE_TAG = re.compile(
    r"^(?:"
    r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4}|[A-Za-z]{5,8})"  # language (+extlang)
    r"(?:-[A-Za-z]{4})?"  # script
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"  # region
    rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*"  # variants
    rf"(?:-[0-9A-WY-Za-wy-z](?:-{_ALNUM}{{2,8}})+)*"  # extensions
    rf"(?:-[xX](?:-{_ALNUM}{{1,8}})+)?"  # private use
    rf"|[xX](?:-{_ALNUM}{{1,8}})+"  # private use only
    r"|[iI]-[A-Za-z]{3,8}|en-GB-oed|sgn-[A-Za-z]{2}-[A-Za-z]{2,3}"  # grandfathered
    r")$"
)
# ISO 8601 combined date and time, extended or basic format, optional offset.
TIMESTAMP = re.compile(
    r"^(\d{4})-?(\d{2})-?(\d{2})[Tt](\d{2}):?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$"
)
# ISO 8601 durations: PnYnMnDTnHnMnS, or weeks alone (PnW), which combine with no other unit.
DURATION = re.compile(
    r"^P(?:(?=\d|T\d)(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?"
    r"(?:(\d+(?:[.,]\d+)?)D)?(?:T(?=\d)(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?"
    r"(?:(\d+(?:[.,]\d+)?)S)?)?|(\d+(?:[.,]\d+)?)W)$"
)

Errors = list[str]


def is_uuid(value: Any) -> bool:
    return type(value) is str and UUID.match(value) is not None


def is_iri(value: Any) -> bool:
    """An IRI with a scheme, at most MAX_IRI_LENGTH characters (Finishline's limit)."""
    return type(value) is str and len(value) <= MAX_IRI_LENGTH and IRI.match(value) is not None


def is_language_tag(value: Any) -> bool:
    return type(value) is str and LANGUAGE_TAG.match(value) is not None


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime, or None if invalid.

    A time zone is required (Data 4.5 says SHOULD*; Finishline insists, as a timestamp without
    one cannot be placed on a learner's timeline). The offsets -00, -0000 and -00:00 ("unknown
    local offset", RFC 3339) are refused, as the conformance suite expects. Fractions beyond
    microseconds are truncated, not rejected.
    """
    if type(value) is not str:
        return None
    m = TIMESTAMP.match(value)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = m.groups()
    if not zulu and not sign:
        return None
    if sign == "-" and int(off_h) == 0 and int(off_m or 0) == 0:
        return None
    tz: timezone = UTC
    if sign:
        delta = timedelta(hours=int(off_h), minutes=int(off_m or 0))
        if delta >= timedelta(hours=24):
            return None
        tz = timezone(delta if sign == "+" else -delta)
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:
        return None


def duration_seconds(value: Any) -> float | None:
    """Seconds in an ISO 8601 duration (a year is 365 days, a month 30), or None if invalid."""
    if type(value) is not str:
        return None
    m = DURATION.match(value)
    if m is None:
        return None
    y, mo, d, h, mi, s, w = (float(g.replace(",", ".")) if g else 0.0 for g in m.groups())
    return (((y * 365 + mo * 30 + w * 7 + d) * 24 + h) * 60 + mi) * 60 + s


def _is_number(value: Any) -> bool:
    return (type(value) is int or type(value) is float) and value == value  # not bool, not NaN


def _object(value: Any, path: str, errors: Errors) -> dict[str, Any] | None:
    """The value as a JSON object, or None after recording why it is not one."""
    if type(value) is not dict:
        errors.append(f"{path}: must be a JSON object")
        return None
    if not value:
        errors.append(f"{path}: must not be an empty object")
        return None
    return value


def _keys(obj: dict[str, Any], allowed: frozenset[str], path: str, errors: Errors) -> None:
    for key in obj:
        if key not in allowed:
            errors.append(f"{path}.{key}: is not allowed here (keys are case-sensitive)")


def _language_map(value: Any, path: str, errors: Errors) -> None:
    obj = _object(value, path, errors)
    if obj is None:
        return
    for tag, text in obj.items():
        if LANGUAGE_TAG.match(tag) is None:
            errors.append(f"{path}: {tag!r} is not an RFC 5646 language tag")
        if type(text) is not str:
            errors.append(f"{path}.{tag}: must be a string")


# Extensions sit at most this deep in a statement (statement.object.definition.extensions in
# a SubStatement's context activity), so their values may nest this much less than the limit.
EXTENSIONS_DEPTH = 8


def _extensions(value: Any, path: str, errors: Errors) -> None:
    """Keys must be IRIs; values may be anything, null and empty objects included, nested
    within the JSON depth limit."""
    if type(value) is not dict:
        errors.append(f"{path}: must be a JSON object")
        return
    for key in value:
        if not is_iri(key):
            errors.append(f"{path}: key {key[:80]!r} is not an IRI (of at most 1000 characters)")
    try:
        check_tree(value, depth_limit=MAX_DEPTH - EXTENSIONS_DEPTH, texts=False)
    except InputRefused as exc:
        errors.append(f"{path}: {exc}")


def _string(obj: dict[str, Any], key: str, path: str, errors: Errors) -> None:
    if key in obj and type(obj[key]) is not str:
        errors.append(f"{path}.{key}: must be a string")


def _iri(obj: dict[str, Any], key: str, path: str, errors: Errors, *, required: bool) -> None:
    if key in obj:
        if not is_iri(obj[key]):
            errors.append(
                f"{path}.{key}: must be an IRI with a scheme, "
                f"of at most {MAX_IRI_LENGTH} characters"
            )
    elif required:
        errors.append(f"{path}.{key}: is required")


# --- agents and groups ------------------------------------------------------------------------


def _ifis(actor: dict[str, Any], path: str, errors: Errors) -> int:
    """Validate the inverse functional identifiers present; return how many there are."""
    count = 0
    if "mbox" in actor:
        count += 1
        mbox = actor["mbox"]
        if type(mbox) is not str or len(mbox) > MAX_IRI_LENGTH or MBOX.match(mbox) is None:
            errors.append(f"{path}.mbox: must be a mailto IRI (mailto:name@host)")
    if "mbox_sha1sum" in actor:
        count += 1
        digest = actor["mbox_sha1sum"]
        if type(digest) is not str or SHA1.match(digest) is None:
            errors.append(f"{path}.mbox_sha1sum: must be a hex SHA-1 digest")
    if "openid" in actor:
        count += 1
        if not is_iri(actor["openid"]):
            errors.append(f"{path}.openid: must be a URI")
    if "account" in actor:
        count += 1
        account = _object(actor["account"], f"{path}.account", errors)
        if account is not None:
            _keys(account, ACCOUNT_KEYS, f"{path}.account", errors)
            _iri(account, "homePage", f"{path}.account", errors, required=True)
            name = account.get("name")
            if type(name) is not str or not name:
                errors.append(f"{path}.account.name: is required and must be a string")
    return count


def validate_agent(value: Any, path: str, errors: Errors) -> None:
    agent = _object(value, path, errors)
    if agent is None:
        return
    if agent.get("objectType", "Agent") != "Agent":
        errors.append(f"{path}.objectType: must be 'Agent'")
        return
    _keys(agent, AGENT_KEYS, path, errors)
    _string(agent, "name", path, errors)
    count = _ifis(agent, path, errors)
    if count != 1:
        errors.append(
            f"{path}: an Agent needs exactly one inverse functional identifier "
            "(mbox, mbox_sha1sum, openid or account)"
        )


def validate_group(value: Any, path: str, errors: Errors, *, authority: bool = False) -> None:
    group = _object(value, path, errors)
    if group is None:
        return
    if group.get("objectType") != "Group":
        errors.append(f"{path}.objectType: must be 'Group'")
        return
    _keys(group, GROUP_KEYS, path, errors)
    _string(group, "name", path, errors)
    count = _ifis(group, path, errors)
    if count > 1:
        errors.append(f"{path}: a Group has at most one inverse functional identifier")
    if authority and count:
        errors.append(f"{path}: an authority Group must be anonymous (two OAuth agents)")
    if "member" in group or not count:
        members = group.get("member")
        if type(members) is not list or (not count and not members):
            errors.append(f"{path}.member: an anonymous Group needs an array of Agents")
            return
        if authority and len(members) != 2:
            errors.append(f"{path}.member: an authority Group has exactly two Agents")
        for n, member in enumerate(members):
            validate_agent(member, f"{path}.member[{n}]", errors)


def validate_actor(value: Any, path: str, errors: Errors) -> None:
    """An Agent or a Group, as in actor, instructor and an Agent/Group object."""
    if type(value) is dict and value.get("objectType") == "Group":
        validate_group(value, path, errors)
    elif type(value) is dict and value.get("objectType", "Agent") != "Agent":
        errors.append(f"{path}.objectType: must be 'Agent' or 'Group'")
    else:
        validate_agent(value, path, errors)


def validate_authority(value: Any, path: str, errors: Errors) -> None:
    if type(value) is dict and value.get("objectType") == "Group":
        validate_group(value, path, errors, authority=True)
    else:
        validate_actor(value, path, errors)


# --- verb and objects -------------------------------------------------------------------------


def validate_verb(value: Any, path: str, errors: Errors) -> None:
    verb = _object(value, path, errors)
    if verb is None:
        return
    _keys(verb, VERB_KEYS, path, errors)
    _iri(verb, "id", path, errors, required=True)
    if "display" in verb:
        _language_map(verb["display"], f"{path}.display", errors)


def _components(value: Any, path: str, errors: Errors) -> None:
    if type(value) is not list:
        errors.append(f"{path}: must be an array of interaction components")
        return
    seen: set[str] = set()
    for n, item in enumerate(value):
        sub = f"{path}[{n}]"
        component = _object(item, sub, errors)
        if component is None:
            continue
        _keys(component, COMPONENT_KEYS, sub, errors)
        cid = component.get("id")
        if type(cid) is not str or not cid:
            errors.append(f"{sub}.id: is required and must be a non-empty string")
        elif cid in seen:
            errors.append(f"{sub}.id: {cid!r} is repeated within the array")
        else:
            seen.add(cid)
        if "description" in component:
            _language_map(component["description"], f"{sub}.description", errors)


def _definition(value: Any, path: str, errors: Errors) -> None:
    """An activity definition; unlike other objects it may be empty (`definition: {}`)."""
    if type(value) is not dict:
        errors.append(f"{path}: must be a JSON object")
        return
    definition = value
    _keys(definition, DEFINITION_KEYS, path, errors)
    for key in ("name", "description"):
        if key in definition:
            _language_map(definition[key], f"{path}.{key}", errors)
    _iri(definition, "type", path, errors, required=False)
    _iri(definition, "moreInfo", path, errors, required=False)
    if "extensions" in definition:
        _extensions(definition["extensions"], f"{path}.extensions", errors)
    interaction = definition.get("interactionType")
    if "interactionType" in definition and (
        type(interaction) is not str or interaction not in COMPONENTS_BY_TYPE
    ):
        errors.append(
            f"{path}.interactionType: must be one of {', '.join(COMPONENTS_BY_TYPE)} (exact case)"
        )
        return
    if "correctResponsesPattern" in definition:
        pattern = definition["correctResponsesPattern"]
        if type(pattern) is not list or any(type(p) is not str for p in pattern):
            errors.append(f"{path}.correctResponsesPattern: must be an array of strings")
        if interaction is None:
            errors.append(f"{path}.interactionType: is required with correctResponsesPattern")
    for key in COMPONENT_LISTS:
        if key not in definition:
            continue
        _components(definition[key], f"{path}.{key}", errors)
        if interaction is None:
            errors.append(f"{path}.interactionType: is required with {key}")
        elif key not in COMPONENTS_BY_TYPE[interaction]:
            errors.append(f"{path}.{key}: is not used by a {interaction!r} interaction")


def validate_activity(value: Any, path: str, errors: Errors) -> None:
    activity = _object(value, path, errors)
    if activity is None:
        return
    if activity.get("objectType", "Activity") != "Activity":
        errors.append(f"{path}.objectType: must be 'Activity'")
        return
    _keys(activity, ACTIVITY_KEYS, path, errors)
    _iri(activity, "id", path, errors, required=True)
    if "definition" in activity:
        _definition(activity["definition"], f"{path}.definition", errors)


def validate_statement_ref(value: Any, path: str, errors: Errors) -> None:
    ref = _object(value, path, errors)
    if ref is None:
        return
    if ref.get("objectType") != "StatementRef":
        errors.append(f"{path}.objectType: must be 'StatementRef'")
    _keys(ref, STATEMENT_REF_KEYS, path, errors)
    if not is_uuid(ref.get("id")):
        errors.append(f"{path}.id: a StatementRef needs a UUID id")


def object_type(statement: dict[str, Any]) -> str:
    obj = statement.get("object")
    if type(obj) is dict:
        kind = obj.get("objectType", "Activity")
        return kind if type(kind) is str else ""
    return ""


def validate_object(value: Any, path: str, errors: Errors, *, in_substatement: bool) -> None:
    if type(value) is not dict:
        errors.append(f"{path}: must be a JSON object")
        return
    kind = value.get("objectType", "Activity")
    if kind == "Activity":
        validate_activity(value, path, errors)
    elif kind == "Agent":
        validate_agent(value, path, errors)
    elif kind == "Group":
        validate_group(value, path, errors)
    elif kind == "StatementRef":
        validate_statement_ref(value, path, errors)
    elif kind == "SubStatement":
        if in_substatement:
            errors.append(f"{path}: a SubStatement cannot contain a SubStatement")
            return
        _keys(value, SUBSTATEMENT_KEYS, path, errors)
        _body(value, path, errors, in_substatement=True)
    else:
        errors.append(
            f"{path}.objectType: must be Activity, Agent, Group, StatementRef or SubStatement"
        )


# --- result, context, attachments -------------------------------------------------------------


def validate_result(value: Any, path: str, errors: Errors) -> None:
    result = _object(value, path, errors)
    if result is None:
        return
    _keys(result, RESULT_KEYS, path, errors)
    for key in ("success", "completion"):
        if key in result and type(result[key]) is not bool:
            errors.append(f"{path}.{key}: must be true or false")
    _string(result, "response", path, errors)
    if "duration" in result and duration_seconds(result["duration"]) is None:
        errors.append(f"{path}.duration: must be an ISO 8601 duration")
    if "extensions" in result:
        _extensions(result["extensions"], f"{path}.extensions", errors)
    if "score" in result:
        _score(result["score"], f"{path}.score", errors)


def _score(value: Any, path: str, errors: Errors) -> None:
    score = _object(value, path, errors)
    if score is None:
        return
    _keys(score, SCORE_KEYS, path, errors)
    for key in ("scaled", "raw", "min", "max"):
        if key in score and not _is_number(score[key]):
            errors.append(f"{path}.{key}: must be a number")
            return
    scaled, raw = score.get("scaled"), score.get("raw")
    low, high = score.get("min"), score.get("max")
    if scaled is not None and not -1 <= scaled <= 1:
        errors.append(f"{path}.scaled: must lie between -1 and 1")
    if low is not None and high is not None and low >= high:
        errors.append(f"{path}.min: must be less than max")
    if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
        errors.append(f"{path}.raw: must lie between min and max")


def validate_context(value: Any, path: str, errors: Errors, *, object_kind: str) -> None:
    context = _object(value, path, errors)
    if context is None:
        return
    _keys(context, CONTEXT_KEYS, path, errors)
    if "registration" in context and not is_uuid(context["registration"]):
        errors.append(f"{path}.registration: must be a UUID")
    if "instructor" in context:
        validate_actor(context["instructor"], f"{path}.instructor", errors)
    if "team" in context:
        validate_group(context["team"], f"{path}.team", errors)
    for key in ("revision", "platform"):
        if key in context:
            if type(context[key]) is not str:
                errors.append(f"{path}.{key}: must be a string")
            if object_kind != "Activity":
                errors.append(f"{path}.{key}: is only allowed when the object is an Activity")
    if "language" in context and not is_language_tag(context["language"]):
        errors.append(f"{path}.language: must be an RFC 5646 language tag")
    if "statement" in context:
        validate_statement_ref(context["statement"], f"{path}.statement", errors)
    if "extensions" in context:
        _extensions(context["extensions"], f"{path}.extensions", errors)
    if "contextActivities" in context:
        _context_activities(context["contextActivities"], f"{path}.contextActivities", errors)


def _context_activities(value: Any, path: str, errors: Errors) -> None:
    activities = _object(value, path, errors)
    if activities is None:
        return
    _keys(activities, CONTEXT_ACTIVITY_KEYS, path, errors)
    for key, entries in activities.items():
        if type(entries) is list:
            for n, activity in enumerate(entries):
                validate_activity(activity, f"{path}.{key}[{n}]", errors)
        else:  # a single Activity is allowed and returned as an array
            validate_activity(entries, f"{path}.{key}", errors)


def validate_attachments(value: Any, path: str, errors: Errors) -> None:
    if type(value) is not list:
        errors.append(f"{path}: must be an array of attachments")
        return
    for n, item in enumerate(value):
        sub = f"{path}[{n}]"
        attachment = _object(item, sub, errors)
        if attachment is None:
            continue
        _keys(attachment, ATTACHMENT_KEYS, sub, errors)
        _iri(attachment, "usageType", sub, errors, required=True)
        if "display" in attachment:
            _language_map(attachment["display"], f"{sub}.display", errors)
        else:
            errors.append(f"{sub}.display: is required")
        if "description" in attachment:
            _language_map(attachment["description"], f"{sub}.description", errors)
        content_type = attachment.get("contentType")
        if type(content_type) is not str or MEDIA_TYPE.match(content_type) is None:
            errors.append(f"{sub}.contentType: is required and must be an Internet media type")
        length = attachment.get("length")
        if type(length) is not int or length < 0:
            errors.append(f"{sub}.length: is required and must be a non-negative integer")
        sha2 = attachment.get("sha2")
        if type(sha2) is not str or SHA2.match(sha2) is None:
            errors.append(f"{sub}.sha2: is required and must be a hex SHA-2 digest")
        _iri(attachment, "fileUrl", sub, errors, required=False)
        if (
            attachment.get("usageType") == SIGNATURE_USAGE
            and type(content_type) is str
            and content_type.split(";")[0].strip().lower() != "application/octet-stream"
        ):
            errors.append(f"{sub}.contentType: a signature is application/octet-stream")


# --- statements -------------------------------------------------------------------------------

_PARTS: tuple[tuple[str, Callable[[Any, str, Errors], None]], ...] = (
    ("actor", validate_actor),
    ("verb", validate_verb),
)


def _body(
    statement: dict[str, Any], path: str, errors: Errors, *, in_substatement: bool = False
) -> None:
    """What statements and SubStatements share: actor, verb, object, result, context, ..."""
    for key in ("actor", "verb", "object"):
        if key not in statement:
            errors.append(f"{path}.{key}: is required")
    for key, check in _PARTS:
        if key in statement:
            check(statement[key], f"{path}.{key}", errors)
    if "object" in statement:
        validate_object(
            statement["object"], f"{path}.object", errors, in_substatement=in_substatement
        )
    if "result" in statement:
        validate_result(statement["result"], f"{path}.result", errors)
    if "context" in statement:
        validate_context(
            statement["context"], f"{path}.context", errors, object_kind=object_type(statement)
        )
    if "timestamp" in statement and parse_timestamp(statement["timestamp"]) is None:
        errors.append(f"{path}.timestamp: must be an ISO 8601 date and time")
    if "attachments" in statement:
        validate_attachments(statement["attachments"], f"{path}.attachments", errors)


def is_voiding(statement: dict[str, Any]) -> bool:
    verb = statement.get("verb")
    return type(verb) is dict and verb.get("id") == VOIDED


def validate_statement(statement: Any) -> list[str]:
    """Every problem of one statement as 'path: reason'; an empty list means valid."""
    if type(statement) is not dict:
        return ["statement: must be a JSON object"]
    errors: Errors = []
    path = "statement"
    _keys(statement, STATEMENT_KEYS, path, errors)
    if "id" in statement and not is_uuid(statement["id"]):
        errors.append(f"{path}.id: must be a UUID in standard string form")
    _body(statement, path, errors)
    if "stored" in statement and parse_timestamp(statement["stored"]) is None:
        errors.append(f"{path}.stored: must be an ISO 8601 date and time")
    if "version" in statement:
        version = statement["version"]
        if type(version) is not str or VERSION.match(version) is None:
            errors.append(f"{path}.version: must be 1.0 or 1.0.x")
    if "authority" in statement:
        validate_authority(statement["authority"], f"{path}.authority", errors)
    if is_voiding(statement) and object_type(statement) != "StatementRef":
        errors.append(f"{path}.object: a voiding statement's object must be a StatementRef")
    return errors
