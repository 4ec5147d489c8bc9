"""Storing a Caliper envelope's valid items: each event kept once as received (audit and
de-duplication) and its engagement event stored; each entity describe updating what
Finishline knows (a person's name when it has none, an item's title).

Every item gets its own result, so one bad or conflicting item never refuses the rest:
`accepted` (a new event, now on the timeline or waiting for its learner or course),
`duplicate` (this event, already received), `conflict` (an event id already received with
other content: not stored, reported), `no_learner` (kept, but it names nobody to record it on:
software acting, an anonymous person), `no_course` (kept, but names no course: not a login,
or a login of someone on no roster yet), `described` (an entity) and `rejected` (with the
validator's reason).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from completion.data import EngagementEvent, StoreResult
from completion.events.store import resolve_people, store_events
from completion.ingest.caliper import envelopes as caliper
from completion.ingest.caliper.validation import is_event
from completion.models import CaliperEvent, Item
from lti_tool.models import Deployment, Membership, Person

ACCOUNT_WIDE = frozenset({"logged_in", "logged_out"})  # logins name no course
NO_COURSE = "kept, but it names no course (no group, no LTI context) to record it in"
UNKNOWN_LEARNER = "kept, but a login names no course and its learner is on no roster yet"


@dataclass(frozen=True)
class ItemResult:
    index: int
    id: str
    status: str
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "id": self.id, "status": self.status}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class EnvelopeResult:
    items: list[ItemResult]
    events: StoreResult


@transaction.atomic
def store_items(
    *, deployment: Deployment, items: Sequence[tuple[int, dict[str, Any]]]
) -> EnvelopeResult:
    """Store valid data items, given with their index in the envelope."""
    events = [(n, item) for n, item in items if is_event(item)]
    results = [_describe(deployment, n, item) for n, item in items if not is_event(item)]
    fresh, event_results = _fresh_events(deployment, events)
    results += event_results
    CaliperEvent.objects.bulk_create(
        [
            CaliperEvent(
                deployment=deployment,
                event_id=_event_id(item),
                payload=item,
                received_at=timezone.now(),
            )
            for _, item in fresh
        ],
        ignore_conflicts=True,
    )
    mapped: list[EngagementEvent] = []
    logins: list[tuple[int, str, EngagementEvent]] = []
    for n, item in fresh:
        event = caliper.to_event(item)
        if event is None:
            results.append(ItemResult(n, str(item["id"]), "no_learner"))
        elif event.course_key:
            mapped.append(event)
            results.append(ItemResult(n, str(item["id"]), "accepted"))
        elif event.verb in ACCOUNT_WIDE:
            logins.append((n, str(item["id"]), event))
        else:
            results.append(ItemResult(n, str(item["id"]), "no_course", NO_COURSE))
    for n, event_id, spread in _in_courses(deployment, logins):
        mapped += spread
        status, reason = ("accepted", "") if spread else ("no_course", UNKNOWN_LEARNER)
        results.append(ItemResult(n, event_id, status, reason))
    stored = store_events(deployment=deployment, events=mapped)
    return EnvelopeResult(sorted(results, key=lambda r: r.index), stored)


def _event_id(item: dict[str, Any]) -> str:
    return str(item["id"]).lower()


def _fresh_events(
    deployment: Deployment, events: Sequence[tuple[int, dict[str, Any]]]
) -> tuple[list[tuple[int, dict[str, Any]]], list[ItemResult]]:
    """The events not received before, and the results of those that were: a duplicate when
    the content is the same, a conflict when it is not (within the envelope too)."""
    known = dict(
        CaliperEvent.objects.filter(
            deployment=deployment, event_id__in=[_event_id(e) for _, e in events]
        ).values_list("event_id", "payload")
    )
    fresh: list[tuple[int, dict[str, Any]]] = []
    results: list[ItemResult] = []
    for n, item in events:
        seen = known.get(_event_id(item))
        if seen is None:
            known[_event_id(item)] = item
            fresh.append((n, item))
        elif seen == item:
            results.append(ItemResult(n, str(item["id"]), "duplicate"))
        else:
            results.append(
                ItemResult(
                    n,
                    str(item["id"]),
                    "conflict",
                    "an event with this id was received before with other content; "
                    "the first one is kept",
                )
            )
    return fresh, results


def _in_courses(
    deployment: Deployment, logins: list[tuple[int, str, EngagementEvent]]
) -> list[tuple[int, str, list[EngagementEvent]]]:
    """Logins name no course: each counts in every course its learner is active in (in none
    when the learner is not on a roster yet)."""
    if not logins:
        return []
    people = resolve_people(deployment, [e.actor for _, _, e in logins])
    courses: dict[int, list[str]] = {}
    for person_id, context_id in Membership.objects.filter(
        person__in=set(people.values()), status=Membership.Status.ACTIVE
    ).values_list("person_id", "course__context_id"):
        courses.setdefault(person_id, []).append(context_id)
    return [
        (
            n,
            event_id,
            [
                e._replace(course_key=context_id)
                for context_id in courses.get(people[e.actor].pk if e.actor in people else 0, [])
            ],
        )
        for n, event_id, e in logins
    ]


def _describe(deployment: Deployment, index: int, item: dict[str, Any]) -> ItemResult:
    """Names of people (where Finishline has none) and titles of items, from an entity."""
    described = caliper.describes(item)
    _name_people(deployment, [d for d in described if d.is_person])
    for d in described:
        if not d.is_person:
            Item.objects.filter(course__deployment=deployment, external_id=d.entity_id).exclude(
                title=d.name
            ).update(title=d.name)
    return ItemResult(index, str(item.get("id", "")), "described")


def _name_people(deployment: Deployment, described: Iterable[caliper.Described]) -> None:
    named = {d.actor: d.name for d in described if d.actor is not None}
    if not named:
        return
    for actor, person in resolve_people(deployment, named).items():
        if not person.name:
            Person.objects.filter(pk=person.pk).update(name=named[actor][:255])
