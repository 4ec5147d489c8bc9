"""Frozen per-learner facts as of a day, the only input signals and criteria read. Pure.

`scoring` builds these in bulk from a few SQL aggregates per course; `facts_from_events` builds
the same thing from plain event rows, which is what the tests (and property tests) use to check
the SQL against a reference. This module reads nothing and writes nothing.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import NamedTuple, overload

# Not functools': on Python 3.11 it takes a lock on every first read, five per learner daily.
from django.db.models import Q
from django.utils.functional import cached_property

from completion.data import cutoff_of

CONSUME_VERBS = frozenset({"launched", "viewed", "progressed", "completed", "passed"})
DONE_VERBS = frozenset({"completed", "passed"})


def is_done_event(verb: str, success: bool | None) -> bool:
    """An event that marks its item done by itself: `completed`, `passed`, or any event the
    source marked successful (a graded `submitted` with `success`, as AGS and LMS exports
    send). A score at or above the item's pass mark also counts (`criteria.done_by_score`)."""
    return verb in DONE_VERBS or success is True


# The same test as a query filter (`scoring`, the learner's page, interventions' next steps).
DONE_EVENT = Q(verb__in=DONE_VERBS) | Q(success=True)


class Day(NamedTuple):
    """Activity on one UTC day."""

    day: date
    events: int
    seconds: float
    posts: int
    errors: int
    # Actions on the day: each event's `count` (a day's clicks), 1 for an event without one.
    # None: one per event.
    actions: int | None = None


class Days(Sequence[Day]):
    """A learner's active days, sorted by date, held as six columns.

    Scoring builds every learner's facts of a course at once from the course's rows: a few
    tuple slices per learner, where a `Day` per row cost a tenth of a daily pass (250,000 rows
    in a course of 5,000). Indexing still gives `Day`s; the signals sum column slices."""

    __slots__ = ("actions", "dates", "errors", "events", "posts", "seconds")

    def __init__(
        self,
        dates: tuple[date, ...] = (),
        events: tuple[int, ...] = (),
        seconds: tuple[float, ...] = (),
        posts: tuple[int, ...] = (),
        errors: tuple[int, ...] = (),
        actions: tuple[int, ...] | None = None,
    ) -> None:
        self.dates, self.events, self.seconds = dates, events, seconds
        self.posts, self.errors = posts, errors
        self.actions = events if actions is None else actions

    @classmethod
    def of(cls, days: Iterable[Day]) -> Days:
        """From `Day`s sorted by date."""
        rows = tuple(days)
        if not rows:
            return cls()
        dates, events, seconds, posts, errors, actions = zip(*rows, strict=True)
        return cls(
            dates,
            events,
            seconds,
            posts,
            errors,
            tuple(e if a is None else a for e, a in zip(events, actions, strict=True)),
        )

    def span(self, first: date, last: date) -> slice:
        """Where the days from `first` to `last` (inclusive) are."""
        return slice(bisect_left(self.dates, first), bisect_right(self.dates, last))

    def __len__(self) -> int:
        return len(self.dates)

    @overload
    def __getitem__(self, at: int) -> Day: ...
    @overload
    def __getitem__(self, at: slice) -> Days: ...
    def __getitem__(self, at: int | slice) -> Day | Days:
        if isinstance(at, slice):
            return Days(
                self.dates[at],
                self.events[at],
                self.seconds[at],
                self.posts[at],
                self.errors[at],
                self.actions[at],
            )
        return Day(
            self.dates[at],
            self.events[at],
            self.seconds[at],
            self.posts[at],
            self.errors[at],
            self.actions[at],
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Days):
            return NotImplemented
        return (self.dates, self.events, self.seconds, self.posts, self.errors, self.actions) == (
            other.dates,
            other.events,
            other.seconds,
            other.posts,
            other.errors,
            other.actions,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Days({list(self)!r})"


class ItemFacts(NamedTuple):
    """What a learner did on one item."""

    item_id: int
    # Epoch seconds (UTC), as the aggregates carry them: a course's 150,000 of them as
    # datetimes took a twentieth of a daily pass.
    first_at: float
    done_at: float | None
    consumed: bool
    submitted: bool
    attempts: int
    failures: int
    best_score: float | None
    seconds: float


class EventRow(NamedTuple):
    """One stored event, as plain values (person, not membership: events name people)."""

    person_id: int
    item_id: int | None
    verb: str
    occurred_at: datetime
    duration_seconds: float | None = None
    score: float | None = None
    success: bool | None = None
    times: int | None = None  # `Activity.count`


@dataclass(frozen=True)
class LearnerFacts:
    membership_id: int
    person_id: int
    enrolled_at: datetime
    days: Days = field(default_factory=Days)  # only days with activity
    items: Mapping[int, ItemFacts] = field(default_factory=dict)

    @cached_property
    def enrolled_on(self) -> date:
        return self.enrolled_at.date()

    @cached_property
    def last_active_on(self) -> date | None:
        return self.days.dates[-1] if self.days else None

    @cached_property
    def time_seconds(self) -> float:
        return sum(self.days.seconds)

    @cached_property
    def posts(self) -> int:
        return sum(self.days.posts)

    @cached_property
    def usual_gap(self) -> float:
        """The median of the last 10 gaps between active days, at least 1 (needs 3 days);
        `signals.cadence_days` adjusts it for pauses."""
        days = self.days.dates[-11:]
        return max(float(statistics.median((b - a).days for a, b in pairwise(days))), 1.0)


def facts_from_events(
    *,
    membership_id: int,
    person_id: int,
    enrolled_at: datetime,
    events: Iterable[EventRow],
    as_of: date,
) -> LearnerFacts:
    """The reference builder: the facts of one learner from their raw events up to `as_of`."""
    cutoff = cutoff_of(as_of)
    by_day: dict[date, Day] = {}
    day_seconds: dict[date, list[float]] = defaultdict(list)
    by_item: dict[int, _ItemAcc] = {}
    for e in events:
        if e.person_id != person_id or e.occurred_at >= cutoff:
            continue
        key = e.occurred_at.astimezone(UTC).date()
        d = by_day.get(key, Day(key, 0, 0.0, 0, 0, 0))
        by_day[key] = Day(
            key,
            d.events + 1,
            0.0,
            d.posts + (e.verb == "posted"),
            d.errors + (e.verb == "errored"),
            (d.actions or 0) + (1 if e.times is None else e.times),
        )
        day_seconds[key].append(e.duration_seconds or 0.0)
        if e.item_id is not None:
            by_item.setdefault(e.item_id, _ItemAcc(e.occurred_at)).add(e)
    items = {k: v.facts(k) for k, v in by_item.items()}
    return LearnerFacts(
        membership_id=membership_id,
        person_id=person_id,
        enrolled_at=enrolled_at,
        # fsum: the same events in any order give the same totals, to the last bit.
        days=Days.of(
            d._replace(seconds=math.fsum(day_seconds[k])) for k, d in sorted(by_day.items())
        ),
        items=items,
    )


class _ItemAcc:
    def __init__(self, first: datetime) -> None:
        self.first = first
        self.done: datetime | None = None
        self.consumed = self.submitted = False
        self.attempted = self.passed = self.failed = 0
        self.best: float | None = None
        self.durations: list[float] = []

    def add(self, e: EventRow) -> None:
        self.first = min(self.first, e.occurred_at)
        if is_done_event(e.verb, e.success):
            self.done = e.occurred_at if self.done is None else min(self.done, e.occurred_at)
        self.consumed = self.consumed or e.verb in CONSUME_VERBS
        self.submitted = self.submitted or e.verb == "submitted"
        self.attempted += e.verb == "attempted"
        self.passed += e.verb == "passed"
        self.failed += e.verb == "failed"
        if e.score is not None:
            self.best = e.score if self.best is None else max(self.best, e.score)
        self.durations.append(e.duration_seconds or 0.0)

    def facts(self, item_id: int) -> ItemFacts:
        return ItemFacts(
            item_id=item_id,
            first_at=self.first.timestamp(),
            done_at=None if self.done is None else self.done.timestamp(),
            consumed=self.consumed,
            submitted=self.submitted,
            attempts=attempts_of(self.attempted, self.passed, self.failed),
            failures=self.failed,
            best_score=self.best,
            seconds=math.fsum(self.durations),
        )


def attempts_of(attempted: int, passed: int, failed: int) -> int:
    """An attempt may be sent as `attempted` then `passed`/`failed`, or as the outcome alone."""
    return max(attempted, passed + failed)
