"""What an LRS knows of an Activity: its definition, merged from the statements. Pure.

Every Activity a statement names (its object, its context activities, and those of a
SubStatement) may carry a definition. The LRS keeps one per activity id (Communication 2.5):
language maps are merged language by language (the newer text wins for a language), every
other property is replaced by the newer value. An Activity sent without a definition changes
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

LANGUAGE_MAPS = ("name", "description")
CONTEXT_LISTS = ("parent", "grouping", "category", "other")


def activities_of(statement: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(id, definition) of each Activity in a valid statement that carries a definition."""
    for activity in named_activities(statement):
        definition = activity.get("definition")
        if isinstance(definition, Mapping) and definition:
            yield str(activity.get("id", "")), definition


def named_activities(statement: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every Activity object a statement names, with or without a definition."""
    yield from _in_body(statement)
    obj = statement.get("object")
    if isinstance(obj, Mapping) and obj.get("objectType") == "SubStatement":
        yield from _in_body(obj)


def _in_body(body: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    obj = body.get("object")
    context = body.get("context")
    lists = context.get("contextActivities") if isinstance(context, Mapping) else None
    named = [obj]
    if isinstance(lists, Mapping):
        for key in CONTEXT_LISTS:
            value = lists.get(key)
            named.extend(value if isinstance(value, list) else [value])
    for activity in named:
        if isinstance(activity, Mapping) and activity.get("objectType", "Activity") == "Activity":
            yield activity


def merge_definition(known: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """`known` updated by `new`: language maps merged, other properties replaced."""
    out = dict(known)
    for key, value in new.items():
        if key in LANGUAGE_MAPS and isinstance(value, Mapping):
            old = out.get(key)
            out[key] = {**(old if isinstance(old, Mapping) else {}), **value}
        else:
            out[key] = value
    return out


def merged_definitions(
    known: Mapping[str, Mapping[str, Any]], statements: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The definitions the statements change, in order of the batch, each merged over what
    was `known` (by activity id); unchanged ones are left out."""
    changed: dict[str, dict[str, Any]] = {}
    for statement in statements:
        for activity_id, definition in activities_of(statement):
            base = changed.get(activity_id, known.get(activity_id, {}))
            new = merge_definition(base, definition)
            if new != base:
                changed[activity_id] = new
    return changed


def activity_object(activity_id: str, definition: Mapping[str, Any] | None) -> dict[str, Any]:
    """The Activity as GET /activities returns it."""
    out: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if definition:
        out["definition"] = dict(definition)
    return out
