"""Advisor cases sized to the people who work them: highest value first, spread over the
course's staff by caseload, at most a daily cap each; the rest are batched (each still given
an owner by caseload) into the owners' daily case digest.

Pure: takes candidates and the staff's current loads, returns who gets which case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    index: int  # the caller's handle
    tier: int  # the playbook step's escalation tier: higher is more urgent
    percent_complete: float  # further along is more to save
    staff: tuple[int, ...]  # person ids who may own it, in preference order


@dataclass(frozen=True)
class Assignment:
    owners: dict[int, int | None]  # candidate index -> owner person id (None: no staff)
    deferred: list[int]  # candidate indexes over everyone's cap today
    # The deferred ones' owners for the daily digest, spread by caseload ignoring the cap.
    batched: dict[int, int] = field(default_factory=dict)


def value_order(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Highest value first: the most escalated, then the furthest along, then the oldest."""
    return sorted(candidates, key=lambda c: (-c.tier, -c.percent_complete, c.index))


def assign(
    candidates: Sequence[Candidate],
    *,
    open_cases: Mapping[int, int],
    opened_today: Mapping[int, int],
    daily_cap: int,
) -> Assignment:
    """Each case to the eligible person with the fewest open cases who has room today.

    Ties go to the earlier person in the candidate's preference order, so with equal loads the
    cases go round the staff in turn.
    """
    load = dict(open_cases)
    today = dict(opened_today)
    owners: dict[int, int | None] = {}
    deferred: list[int] = []
    batched: dict[int, int] = {}
    for c in value_order(candidates):
        if not c.staff:
            owners[c.index] = None  # nobody to own it: kept unassigned, as before
            continue
        room = [p for p in c.staff if today.get(p, 0) < daily_cap]
        if not room:
            deferred.append(c.index)
            owner = min(c.staff, key=lambda p: (load.get(p, 0), c.staff.index(p)))
            batched[c.index] = owner
            load[owner] = load.get(owner, 0) + 1
            continue
        owner = min(room, key=lambda p: (load.get(p, 0), c.staff.index(p)))
        owners[c.index] = owner
        load[owner] = load.get(owner, 0) + 1
        today[owner] = today.get(owner, 0) + 1
    return Assignment(owners, deferred, batched)
