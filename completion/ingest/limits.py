"""Limits every ingest endpoint applies to what it is sent, and the checks that enforce them. Pure.

JSON bodies are parsed with `parse_json`, which refuses duplicated keys where asked, nesting
deeper than `MAX_DEPTH` and text PostgreSQL cannot store (NUL and unpaired UTF-16 surrogates,
which only reach a parsed value through `\\u` escapes). Identifiers that end up in indexed
columns (activity and object IRIs, course keys) are capped at `MAX_IRI_LENGTH`. Every refusal
names the limit, so a client can tell a limit from a malformed message.
It deliberately knows nothing of xAPI or Caliper rules: their validators call it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 64  # nesting of JSON objects and arrays, counting the outermost as 1
MAX_IRI_LENGTH = 1000  # characters; the width of the item and course-key columns
# A JSON escape that decodes to NUL or to a UTF-16 surrogate (paired or not).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class InputRefused(ValueError):
    """Input outside a limit or unstorable; the message says which and is sent back."""


def bad_text(text: str) -> str | None:
    """Why a string cannot be stored (NUL or an unpaired surrogate), or None."""
    found = _BAD_TEXT.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "text may not contain NUL (\\u0000) characters"
    return "text may not contain unpaired UTF-16 surrogates (\\ud800-\\udfff)"


def check_tree(value: Any, *, depth_limit: int = MAX_DEPTH, texts: bool = True) -> None:
    """Raise InputRefused if `value` nests deeper than `depth_limit` or (with `texts`) holds
    a key or string that cannot be stored. Iterative, so any depth is safe to walk."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > depth_limit:
                raise InputRefused(f"JSON may nest at most {depth_limit} levels deep")
            for key, item in node.items():
                if texts and (problem := bad_text(key)):
                    raise InputRefused(problem)
                if isinstance(item, dict | list | str):
                    stack.append((item, depth + 1))
        elif isinstance(node, list):
            if depth > depth_limit:
                raise InputRefused(f"JSON may nest at most {depth_limit} levels deep")
            stack.extend((item, depth + 1) for item in node if isinstance(item, dict | list | str))
        elif texts and isinstance(node, str) and (problem := bad_text(node)):
            raise InputRefused(problem)


def parse_json(
    body: bytes | str,
    *,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
    check_depth: bool = True,
) -> Any:
    """The JSON value of `body`, within the limits; InputRefused (a ValueError) otherwise.

    Text is scanned only when the raw body holds an escape that could decode to NUL or a
    surrogate: raw NUL bytes are not valid JSON and raw surrogates are not valid UTF-8, so a
    body without such escapes cannot hold either. `check_depth=False` is for callers whose
    validator bounds the structure itself (the xAPI validator walks all but extension values,
    and checks those with `check_tree`): the walk costs a tenth of a statement batch's time."""
    raw = body.encode() if isinstance(body, str) else body
    try:
        value = json.loads(raw, object_pairs_hook=object_pairs_hook)
    except RecursionError as exc:
        raise InputRefused(f"JSON may nest at most {MAX_DEPTH} levels deep") from exc
    except UnicodeDecodeError as exc:
        raise InputRefused("the body is not UTF-8 text") from exc
    except ValueError as exc:
        if isinstance(exc, InputRefused):
            raise
        raise InputRefused(f"the body is not JSON: {exc}") from exc
    texts = _SUSPECT_ESCAPE.search(raw) is not None
    if texts or check_depth:
        check_tree(value, texts=texts)
    return value


def check_iri_length(value: str, what: str) -> None:
    if len(value) > MAX_IRI_LENGTH:
        raise InputRefused(f"{what} may be at most {MAX_IRI_LENGTH} characters long")
