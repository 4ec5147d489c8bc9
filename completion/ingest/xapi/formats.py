"""The `format` of statements an LRS returns (xAPI 1.0.3 Communication §2.1.3).

`exact` is the statement as stored. `ids` keeps only what identifies each Agent, Group,
Activity and Verb. `canonical` keeps Agents and Groups as stored and reduces every language
map of Activities and Verbs to the one language the client asked for (Accept-Language); an
Activity's definition is then the LRS's canonical one (every definition it was given, merged:
`XapiActivity`), passed in by the caller, else the one the statement carries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from completion.ingest.xapi.statements import with_activity_lists
from completion.ingest.xapi.validation import IFI_KEYS

FORMATS = ("exact", "ids", "canonical")
INTERACTION_LISTS = ("choices", "scale", "source", "target", "steps")

Transform = Callable[[Mapping[str, Any]], dict[str, Any]]


def formatted(
    statement: Mapping[str, Any],
    fmt: str,
    accept_language: str = "",
    definitions: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The statement in format `fmt`; context activities are always arrays (statements stored
    before the store made them arrays may hold one alone). `definitions` are the canonical
    definitions by activity id, for `canonical`."""
    statement = with_activity_lists(statement)
    if fmt == "ids":
        return _statement(statement, agent=_agent_ids, activity=_activity_ids, verb=_verb_ids)
    if fmt == "canonical":
        languages = preferred_languages(accept_language)
        canonical = definitions or {}

        def activity(a: Mapping[str, Any]) -> dict[str, Any]:
            known = canonical.get(str(a.get("id", "")))
            return _activity_canonical({**a, "definition": known} if known else a, languages)

        def verb(v: Mapping[str, Any]) -> dict[str, Any]:
            return _with_map(v, "display", languages)

        return _statement(statement, agent=dict, activity=activity, verb=verb)
    return dict(statement)


def preferred_languages(header: str) -> list[str]:
    """Accept-Language tags, most wanted first (q=0 dropped, `*` ignored)."""
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, n, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]


def pick_language(language_map: Mapping[str, Any], languages: list[str]) -> dict[str, Any]:
    """One entry of a language map: the client's best match, else `und`, else the first."""
    if not language_map:
        return {}
    keys = {key.lower(): key for key in language_map}
    for wanted in languages:
        if wanted in keys:
            return {keys[wanted]: language_map[keys[wanted]]}
        for lower, key in keys.items():  # "en" accepts "en-US"; "en-GB" accepts "en"
            if lower.split("-")[0] == wanted.split("-")[0]:
                return {key: language_map[key]}
    chosen = keys.get("und") or next(iter(language_map))
    return {chosen: language_map[chosen]}


def _statement(
    statement: Mapping[str, Any], *, agent: Transform, activity: Transform, verb: Transform
) -> dict[str, Any]:
    out = dict(statement)
    for key in ("actor", "authority"):
        if isinstance(out.get(key), Mapping):
            out[key] = agent(out[key])
    if isinstance(out.get("verb"), Mapping):
        out["verb"] = verb(out["verb"])
    obj = out.get("object")
    if isinstance(obj, Mapping):
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            out["object"] = activity(obj)
        elif kind in {"Agent", "Group"}:
            out["object"] = agent(obj)
        elif kind == "SubStatement":
            out["object"] = _statement(obj, agent=agent, activity=activity, verb=verb)
    context = out.get("context")
    if isinstance(context, Mapping):
        context = dict(context)
        for key in ("instructor", "team"):
            if isinstance(context.get(key), Mapping):
                context[key] = agent(context[key])
        lists = context.get("contextActivities")
        if isinstance(lists, Mapping):
            context["contextActivities"] = {
                key: [activity(a) for a in value if isinstance(a, Mapping)]
                if isinstance(value, list)
                else activity(value)
                for key, value in lists.items()
                if isinstance(value, list | Mapping)
            }
        out["context"] = context
    return out


def _agent_ids(actor: Mapping[str, Any]) -> dict[str, Any]:
    kind = actor.get("objectType", "Agent")
    out: dict[str, Any] = {"objectType": kind}
    ifi = next((k for k in IFI_KEYS if k in actor), None)
    if ifi is not None:
        out[ifi] = actor[ifi]
    elif kind == "Group":  # anonymous: identified by its members
        out["member"] = [_agent_ids(m) for m in actor.get("member", []) if isinstance(m, Mapping)]
    return out


def _activity_ids(activity: Mapping[str, Any]) -> dict[str, Any]:
    """An Activity by its id alone (Communication 2.1.3: `ids` keeps only what identifies it;
    objectType is implied)."""
    return {"id": activity.get("id")}


def _verb_ids(verb: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": verb.get("id")}


def _with_map(obj: Mapping[str, Any], key: str, languages: list[str]) -> dict[str, Any]:
    out = dict(obj)
    if isinstance(out.get(key), Mapping):
        out[key] = pick_language(out[key], languages)
    return out


def _activity_canonical(activity: Mapping[str, Any], languages: list[str]) -> dict[str, Any]:
    out = dict(activity)
    definition = out.get("definition")
    if isinstance(definition, Mapping):
        definition = _with_map(_with_map(definition, "name", languages), "description", languages)
        for key in INTERACTION_LISTS:
            if isinstance(definition.get(key), list):
                definition[key] = [
                    _with_map(c, "description", languages) if isinstance(c, Mapping) else c
                    for c in definition[key]
                ]
        out["definition"] = definition
    return out
