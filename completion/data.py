"""Frozen data shared by the ingest parsers and the event store. Pure.

Every source (launch, AGS, xAPI, Caliper, CSV/JSONL, REST) is parsed into `EngagementEvent`s,
and one service (`completion.events.store.store_events`) resolves and stores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

VERBS = frozenset(
    {
        "launched",
        "viewed",
        "progressed",
        "completed",
        "attempted",
        "passed",
        "failed",
        "submitted",
        "posted",
        "errored",
        "logged_in",
        "logged_out",
        "other",
    }
)
ITEM_KINDS = frozenset({"module", "page", "assessment", "forum", "video", "link", "other"})


class ActorRef(NamedTuple):
    """Ways a source may name a person, most specific first. Any one match is enough.

    `sub` is the LTI user id; `email` an address (from mbox or a CSV column); `sourced_id`
    the SIS id. An xAPI account (homePage + name) is matched by its name as sub or sourced id.
    A named tuple rather than a dataclass: imports hash millions of these as cache keys.
    """

    sub: str = ""
    email: str = ""
    sourced_id: str = ""

    def keys(self) -> list[str]:
        return [
            f"{kind}:{value}"
            for kind, value in (
                ("sub", self.sub),
                ("email", self.email.lower()),
                ("sourced", self.sourced_id),
            )
            if value
        ]

    @classmethod
    def from_keys(cls, keys: list[str]) -> ActorRef:
        found = dict(k.split(":", 1) for k in keys if ":" in k)
        return cls(
            sub=found.get("sub", ""),
            email=found.get("email", ""),
            sourced_id=found.get("sourced", ""),
        )


class EngagementEvent(NamedTuple):
    """One thing a learner did, normalised from any source (a named tuple: imports make
    millions, and a frozen dataclass costs four times as much to build)."""

    actor: ActorRef
    course_key: str  # the LTI context id of the course
    verb: str
    occurred_at: datetime
    source: str
    source_id: str
    item_id: str = ""  # an AGS line item URL, resource link id, activity IRI or object id
    item_kind: str = ""
    item_title: str = ""
    duration_seconds: float | None = None
    score: float | None = None  # scaled 0..1
    success: bool | None = None
    times: int | None = None  # how many times (a day of clicks; `Activity.count`); None: once


@dataclass(frozen=True)
class StoreResult:
    stored: int = 0
    duplicate: int = 0
    pending: int = 0

    def __add__(self, other: StoreResult) -> StoreResult:
        return StoreResult(
            self.stored + other.stored,
            self.duplicate + other.duplicate,
            self.pending + other.pending,
        )


def cutoff_of(as_of: date) -> datetime:
    """Events strictly before this instant count for `as_of` (the end of that UTC day)."""
    return datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)
