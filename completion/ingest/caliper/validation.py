"""Caliper 1.1/1.2 message validation against the information model in `vocabulary`. Pure.

`check_envelope` checks the envelope itself (exactly `sensor`, `sendTime`, `dataVersion` and a
non-empty `data`); `check_item` checks one data item, an event or an entity "describe", and
returns its problems as "path: reason" (empty when valid). Items are independent: an endpoint
can keep the good ones and report the bad.

Two levels. Strict, for every sender but Canvas: `@context`, ids (events: urn:uuid), known
types, the action allowed for the event type, the entity type each place takes (subtypes
allowed, an IRI string always accepted), and every property's datatype (in 1.2 a decimal must
be a JSON number with a fraction part, as the IMS fixtures pin down). Lenient, for Canvas Live
Events, whose payloads depart from the model in documented ways (a generic "Entity" object,
a SoftwareApplication actor on navigation, ThreadEvent "Created", integer scores, extra
properties): only the event's skeleton is checked.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from completion.ingest.caliper import vocabulary as model
from completion.ingest.limits import MAX_DEPTH, MAX_IRI_LENGTH

Errors = list[str]
ENVELOPE_KEYS = frozenset({"sensor", "sendTime", "dataVersion", "data"})
_CONTEXT = re.compile(
    r"^http://purl\.imsglobal\.org/ctx/caliper/(v1p[12])(?:/[A-Za-z]+-extension)?$"
)
_SCHEME = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*:|_:)\S*$")
_DURATION = re.compile(
    r"^P(?=\d|T\d)(?:\d+(?:[.,]\d+)?Y)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?W)?"
    r"(?:\d+(?:[.,]\d+)?D)?(?:T(?=\d)(?:\d+(?:[.,]\d+)?H)?(?:\d+(?:[.,]\d+)?M)?"
    r"(?:\d+(?:[.,]\d+)?S)?)?$"
)
CANVAS = "com.instructure.canvas"
CANVAS_ID = "urn:instructure:canvas:"
# Canvas Live Events use these actions where the model has none (lenient mode only).
CANVAS_ACTIONS = {"ThreadEvent": frozenset({"Created"})}


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 date and time with a zone (Caliper's DateTime), else None."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def check_envelope(envelope: Any) -> tuple[Errors, str | None]:
    """Problems of the envelope (not of its items), and its version ("v1p1"/"v1p2") when the
    dataVersion is one this endpoint speaks (else None: the endpoint answers 422)."""
    if not isinstance(envelope, dict):
        return ["the envelope must be a JSON object"], None
    problems = [
        f"{k}: the envelope may hold no other property" for k in envelope if k not in ENVELOPE_KEYS
    ]
    if not isinstance(envelope.get("sensor"), str) or not envelope.get("sensor"):
        problems.append("sensor: required, a string (the sensor's IRI)")
    if parse_time(envelope.get("sendTime")) is None:
        problems.append("sendTime: required, an ISO 8601 date and time with a time zone")
    data_version = envelope.get("dataVersion")
    version = model.DATA_VERSIONS.get(data_version) if isinstance(data_version, str) else None
    if "dataVersion" not in envelope:
        problems.append("dataVersion: required")
    data = envelope.get("data")
    if not isinstance(data, list) or not data:
        problems.append("data: required, a non-empty list of events and entities")
    return problems, version


def is_canvas(item: Mapping[str, Any]) -> bool:
    """A Canvas Live Event: Canvas ids or Canvas's extension on the event or its actor."""
    actor = item.get("actor")
    for part in (item, actor if isinstance(actor, Mapping) else {}):
        if str(part.get("id", "")).startswith(CANVAS_ID):
            return True
        extensions = part.get("extensions")
        if isinstance(extensions, Mapping) and CANVAS in extensions:
            return True
    return False


def is_event(item: Mapping[str, Any]) -> bool:
    kind = item.get("type")
    return isinstance(kind, str) and (kind == "Event" or kind.endswith("Event"))


def check_item(item: Any, *, version: str) -> Errors:
    """Every problem of one data item (event or entity), as 'path: reason'."""
    if not isinstance(item, dict):
        return ["must be a JSON object (an event or an entity)"]
    errors: Errors = []
    item_version = _context(item.get("@context"), errors, required=True) or version
    if is_event(item):
        if is_canvas(item):
            _event_skeleton(item, errors, lenient=True)
        else:
            _event(item, errors, strict_decimals=item_version == "v1p2")
    else:
        _entity(item, "", errors, depth=1, strict_decimals=item_version == "v1p2", top=True)
    return errors


# --- @context ---------------------------------------------------------------------------------


def _context(value: Any, errors: Errors, *, required: bool) -> str | None:
    """The Caliper version a @context names (None if it names none or is absent)."""
    if value is None:
        if required:
            errors.append("@context: required on every event and entity sent")
        return None
    if isinstance(value, str):
        match = _CONTEXT.match(value)
        if match is None:
            errors.append(f"@context: {value[:100]!r} is not a Caliper context")
            return None
        return match.group(1)
    if isinstance(value, list):
        found = None
        for entry in value:
            if isinstance(entry, str):
                match = _CONTEXT.match(entry)
                if match is None:
                    errors.append(f"@context: {entry[:100]!r} is not a Caliper context")
                else:
                    found = match.group(1)
            elif not isinstance(entry, dict):
                errors.append("@context: a list may hold context IRIs and objects only")
        if not any(isinstance(e, str) for e in value):
            errors.append("@context: a list must name a Caliper context")
        return found
    if isinstance(value, dict):
        return None  # an inline context: terms mapped to IRIs
    errors.append("@context: must be a context IRI, a list or an object")
    return None


# --- events -------------------------------------------------------------------------------------


def _event_skeleton(
    item: Mapping[str, Any], errors: Errors, *, lenient: bool
) -> model.EventType | None:
    """What every event must have; returns its type's rules when it has a known type."""
    kind = item.get("type")
    spec = model.EVENT.get(kind) if isinstance(kind, str) else None
    if isinstance(kind, str) and kind in model.DEPRECATED_EVENTS:
        errors.append(f"type: {kind} was deprecated in Caliper 1.1")
    elif spec is None:
        errors.append(f"type: {str(kind)[:60]!r} is not a Caliper event type")
    event_id = item.get("id")
    if not _is_urn_uuid(event_id):
        errors.append("id: an event's id must be a urn:uuid (RFC 4122)")
    action = item.get("action")
    if not isinstance(action, str) or not action:
        errors.append("action: required, a string")
    elif spec is not None and spec.actions:
        allowed = spec.actions | (
            CANVAS_ACTIONS.get(str(kind), frozenset()) if lenient else frozenset()
        )
        if action not in allowed:
            errors.append(f"action: {action[:60]!r} is not an action of {kind}")
    for key in ("actor", "object"):
        value = item.get(key)
        if not _entity_id(value) and not (isinstance(value, dict) and not lenient):
            errors.append(f"{key}: required, an entity or its IRI")
    if parse_time(item.get("eventTime")) is None:
        errors.append("eventTime: required, an ISO 8601 date and time with a time zone")
    for key, value in item.items():
        if key in {"actor", "object", "generated", "target", "referrer", *model.EVENT_PLACES}:
            if value is not None and not isinstance(value, str | dict):
                errors.append(f"{key}: must be an entity or its IRI")
            elif isinstance(value, str) and not _is_iri(value):
                errors.append(f"{key}: {value[:60]!r} is not an IRI")
    if "extensions" in item and not isinstance(item["extensions"], dict):
        errors.append("extensions: must be a JSON object")
    return spec


def _event(item: Mapping[str, Any], errors: Errors, *, strict_decimals: bool) -> None:
    spec = _event_skeleton(item, errors, lenient=False)
    if spec is None:
        return
    actor_type, object_type = spec.by_action.get(str(item.get("action")), (spec.actor, spec.object))
    places: dict[str, tuple[str, ...]] = {
        "actor": (actor_type,),
        "object": (object_type,),
        "generated": spec.generated,
        "target": spec.target,
        **{k: (v,) for k, v in model.EVENT_PLACES.items()},
    }
    for key, wanted in places.items():
        value = item.get(key)
        if isinstance(value, dict):
            _entity(value, key, errors, depth=2, strict_decimals=strict_decimals, wanted=wanted)
    if "profile" in item and not isinstance(item["profile"], str):
        errors.append("profile: must be a string (a profile term)")


def _is_urn_uuid(value: Any) -> bool:
    if not isinstance(value, str) or not value.lower().startswith("urn:uuid:"):
        return False
    try:
        uuid.UUID(value[9:])
    except ValueError:
        return False
    return len(value) == 45


def _is_iri(value: str) -> bool:
    return 0 < len(value) <= MAX_IRI_LENGTH and _SCHEME.match(value) is not None


def _entity_id(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return ""


# --- entities -----------------------------------------------------------------------------------


def _entity(
    value: dict[str, Any],
    path: str,
    errors: Errors,
    *,
    depth: int,
    strict_decimals: bool,
    wanted: tuple[str, ...] = ("Entity",),
    top: bool = False,
) -> None:
    where = f"{path}." if path else ""
    if depth > MAX_DEPTH:
        errors.append(f"{path}: entities may nest at most {MAX_DEPTH} levels deep")
        return
    kind = value.get("type")
    if not isinstance(kind, str) or not kind:
        errors.append(f"{where}type: required, a Caliper entity type")
        return
    known = model.ENTITY.get(kind)
    if known is None and (top or wanted != ("Entity",)):
        errors.append(f"{where}type: {kind[:60]!r} is not a Caliper entity type")
        return
    if (
        known is not None
        and wanted != ("Entity",)
        and not any(model.is_subtype(kind, w) for w in wanted)
    ):
        needed = " or ".join(w.replace("|", " or ") for w in wanted)
        errors.append(f"{where}type: a {kind} where the spec wants {needed}")
    if known is None or known.has_id:
        entity_id = value.get("id")
        if not isinstance(entity_id, str) or not _is_iri(entity_id):
            errors.append(f"{where}id: required, an IRI (of at most {MAX_IRI_LENGTH} characters)")
    for name in model.required_of(kind):
        if name not in value:
            errors.append(f"{where}{name}: required for {kind}")
    properties = model.properties_of(kind)
    for name, item in value.items():
        spec = properties.get(name)
        if spec is not None:
            _value(
                item, spec, f"{where}{name}", errors, depth=depth, strict_decimals=strict_decimals
            )
        elif name not in {"@context", "id", "type"} and isinstance(item, dict | list):
            _nested_limits(item, f"{where}{name}", errors, depth=depth + 1)
    if "@context" in value and not top:
        _context(value["@context"], errors, required=False)


def _nested_limits(value: Any, path: str, errors: Errors, *, depth: int) -> None:
    """A property the model does not define: free, within the depth limit."""
    stack = [(value, depth)]
    while stack:
        node, level = stack.pop()
        if level > MAX_DEPTH:
            errors.append(f"{path}: JSON may nest at most {MAX_DEPTH} levels deep")
            return
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, level + 1) for c in children if isinstance(c, dict | list))


def _value(
    value: Any, spec: model.Kind, path: str, errors: Errors, *, depth: int, strict_decimals: bool
) -> None:
    if isinstance(spec, tuple):
        head, inner = spec
        if head == "list":
            if not isinstance(value, list):
                errors.append(f"{path}: must be a list")
                return
            for n, entry in enumerate(value):
                _value(
                    entry,
                    inner,
                    f"{path}[{n}]",
                    errors,
                    depth=depth + 1,
                    strict_decimals=strict_decimals,
                )
        elif head == "term":
            if not isinstance(value, str) or value not in model.TERMS[str(inner)]:
                errors.append(f"{path}: {str(value)[:60]!r} is not a value of the spec's list")
        elif head == "ref":
            if isinstance(value, str):
                if not _is_iri(value):
                    errors.append(f"{path}: {value[:60]!r} is not an IRI")
            elif isinstance(value, dict):
                _entity(
                    value,
                    path,
                    errors,
                    depth=depth + 1,
                    strict_decimals=strict_decimals,
                    wanted=(str(inner),),
                )
            else:
                errors.append(f"{path}: must be a {inner} or its IRI")
        return
    if not _scalar_ok(value, spec, strict_decimals):
        errors.append(f"{path}: must be {_DESCRIBED[spec]}")
    elif spec == "obj":
        _nested_limits(value, path, errors, depth=depth + 1)


_DESCRIBED = {
    "str": "a string",
    "int": "an integer",
    "dec": "a decimal number",
    "bool": "true or false",
    "datetime": "an ISO 8601 date and time with a time zone",
    "duration": "an ISO 8601 duration",
    "obj": "a JSON object",
    "any": "any value",
}


def _scalar_ok(value: Any, spec: str, strict_decimals: bool) -> bool:
    if spec == "str":
        return isinstance(value, str)
    if spec == "int":
        return type(value) is int
    if spec == "dec":
        return type(value) is float or (not strict_decimals and type(value) is int)
    if spec == "bool":
        return type(value) is bool
    if spec == "datetime":
        return parse_time(value) is not None
    if spec == "duration":
        return isinstance(value, str) and _DURATION.match(value) is not None
    if spec == "obj":
        return isinstance(value, dict)
    return True
