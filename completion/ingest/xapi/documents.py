"""The rules of xAPI's document resources (State, Activity Profile, Agent Profile). Pure.

Owns how a document is named (`DocumentKey`: its scope, which a GET without an id lists, and
its id), its ETag (the SHA-1 of its bytes), the preconditions of Communication 3.1 (If-Match,
If-None-Match; a profile PUT must send one: 409 when the document exists, 400 when it does
not), and POST's merge of two JSON objects (Communication 2.2: both must be JSON objects,
else 400 and nothing changes). Storage is `document_store`'s; parameters are the views'.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from completion.ingest.limits import InputRefused, parse_json
from completion.ingest.xapi.statements import agent_key

STATE = "state"
ACTIVITY_PROFILE = "activity_profile"
AGENT_PROFILE = "agent_profile"
JSON_TYPE = "application/json"


class DocumentRefused(ValueError):
    """A document request refused; `status` is the HTTP answer (400, 409 or 412)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class DocumentKey:
    """Which document (or, with `document_id` "", which set of documents) a request names."""

    kind: str
    activity_id: str = ""
    agent: Mapping[str, Any] | None = None  # objectType and the one IFI
    registration: str = ""  # lower-case UUID, State only
    document_id: str = ""

    @property
    def scope_key(self) -> str:
        agent = agent_key(self.agent, "Agent") if self.agent is not None else ""
        return _digest(self.kind, self.activity_id, agent or "", self.registration)

    @property
    def document_key(self) -> str:
        return _digest(self.scope_key, self.document_id)


def _digest(*parts: str) -> str:
    # Length-prefixed, so no two different part lists can give the same text.
    text = "".join(f"{len(p)}:{p}" for p in parts)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def etag_of(content: bytes) -> str:
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def _tags(header: str) -> list[str]:
    """The entity tags of an If-Match/If-None-Match header, without W/ and quotes."""
    tags = []
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith(("W/", "w/")):
            tag = tag[2:]
        tags.append(tag.strip('"').lower())
    return [t for t in tags if t]


def check_preconditions(
    *, if_match: str, if_none_match: str, current: str | None, required: bool
) -> None:
    """Refuse a write whose preconditions fail (412), or, when `required` (a profile PUT),
    one that sends neither header (409 if the document exists, else 400). `current` is the
    stored document's ETag, None when there is none."""
    if if_match:
        tags = _tags(if_match)
        if current is None or not ("*" in tags or current in tags):
            raise DocumentRefused("If-Match does not match the document's current ETag", status=412)
    if if_none_match and current is not None:
        tags = _tags(if_none_match)
        if "*" in tags or current in tags:
            raise DocumentRefused(
                "If-None-Match: the document exists (or has that ETag)", status=412
            )
    if required and not if_match and not if_none_match:
        if current is not None:
            raise DocumentRefused(
                "the document exists: send If-Match with its ETag to replace it, "
                "or If-None-Match: * to create one only if none exists",
                status=409,
            )
        raise DocumentRefused(
            "a PUT to a profile needs If-Match (to replace) or If-None-Match: * (to create)"
        )


def is_json_type(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == JSON_TYPE


def json_object(content: bytes) -> dict[str, Any] | None:
    """The document as a JSON object, or None if it is not one (or is beyond the limits)."""
    try:
        value = parse_json(content)
    except InputRefused:
        return None
    return value if isinstance(value, dict) else None


def merged(*, stored_type: str, stored: bytes, new_type: str, new: bytes) -> tuple[str, bytes]:
    """A POST over a stored document: the two JSON objects merged, the new one's top-level
    properties replacing the stored ones' (Communication 2.2). Anything else is refused."""
    if not is_json_type(new_type):
        raise DocumentRefused(
            "a document exists; POST merges JSON objects only (Content-Type application/json)"
        )
    update = json_object(new)
    if update is None:
        raise DocumentRefused("the body is not a JSON object")
    if not is_json_type(stored_type):
        raise DocumentRefused("the stored document is not JSON, so nothing can be merged into it")
    base = json_object(stored)
    if base is None:
        raise DocumentRefused("the stored document is not a JSON object, so cannot be merged")
    return JSON_TYPE, json.dumps({**base, **update}, ensure_ascii=False).encode()


def check_new_json(content_type: str, content: bytes) -> None:
    """A POST that stores a new document: declared JSON must be a JSON object."""
    if is_json_type(content_type) and json_object(content) is None:
        raise DocumentRefused("the body is declared application/json but is not a JSON object")
