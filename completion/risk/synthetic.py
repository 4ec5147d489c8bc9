"""Synthetic cohorts: learners following the archetypes the field reports. Pure.

Each learner follows one archetype with seeded noise: steady finisher, slow starter (no first
module in 48 h), life interruption with or without return, difficulty spike at one module
(repeated failures, then silence), silent disengagement (daily short sessions that fade),
technical barrier (error events, then quitting) and isolated learner (no forum posts). The
generator returns the events and each learner's true outcome (completed or not, last active
moment), so prediction quality can be measured against the truth.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from completion.data import ActorRef, EngagementEvent

MODULES = 8
ARCHETYPES: tuple[tuple[str, float], ...] = (
    ("steady_finisher", 0.30),
    ("slow_starter", 0.10),
    ("interruption_return", 0.10),
    ("interruption_no_return", 0.10),
    ("difficulty_spike", 0.12),
    ("silent_disengagement", 0.12),
    ("technical_barrier", 0.06),
    ("isolated", 0.10),
)


@dataclass(frozen=True)
class CourseItem:
    item_id: str
    kind: str
    title: str
    module: int


def course_items() -> list[CourseItem]:
    items = []
    for m in range(1, MODULES + 1):
        items += [
            CourseItem(f"module-{m}-page", "page", f"Module {m} reading", m),
            CourseItem(f"module-{m}-video", "video", f"Module {m} video", m),
            CourseItem(f"module-{m}-quiz", "assessment", f"Module {m} quiz", m),
        ]
    items.append(CourseItem("forum", "forum", "Course forum", 0))
    return items


@dataclass(frozen=True)
class SyntheticLearner:
    sub: str
    archetype: str
    enrolled_at: datetime
    completed: bool
    last_active_at: datetime | None


def _archetype(rng: random.Random) -> str:
    point, edge = rng.random(), 0.0
    for name, share in ARCHETYPES:
        edge += share
        if point < edge:
            return name
    return ARCHETYPES[0][0]


@dataclass
class _Plan:
    start_day: int  # first active day after enrolment
    stop_day: int | None  # last active day (None: until done)
    gap: tuple[int, int] | None  # days without activity (interruption)
    pace: float  # modules per active day
    visit_p: float
    spike_module: int | None
    short_sessions: bool
    errors: bool
    posts: bool
    quit_after: float | None = None  # modules done when life gets in the way for good


def _plan(archetype: str, rng: random.Random, days: int) -> _Plan:
    base = _Plan(
        rng.choice([0, 0, 1]),
        None,
        None,
        rng.uniform(0.35, 0.6),
        rng.uniform(0.7, 0.95),
        None,
        False,
        False,
        True,
    )
    if archetype == "slow_starter":
        base.start_day = rng.randint(3, 6)
    elif archetype == "interruption_return":
        first = rng.randint(6, 12)
        base.gap = (first, first + rng.randint(6, 12))
    elif archetype == "interruption_no_return":
        base.quit_after = rng.uniform(0.2, 0.7) * MODULES
    elif archetype == "difficulty_spike":
        base.spike_module = rng.randint(2, 5)
    elif archetype == "silent_disengagement":
        base.short_sessions, base.pace, base.visit_p = True, rng.uniform(0.12, 0.2), 0.9
        base.stop_day = rng.randint(12, 22)
    elif archetype == "technical_barrier":
        base.errors, base.stop_day = True, rng.randint(3, 9)
    elif archetype == "isolated":
        base.posts, base.pace = False, rng.uniform(0.25, 0.45)
    base.stop_day = min(base.stop_day, days) if base.stop_day is not None else None
    return base


def simulate(
    *,
    n_learners: int,
    days: int,
    seed: int,
    start: datetime,
    course_key: str,
    prefix: str = "synthetic",
) -> Iterator[tuple[SyntheticLearner, list[EngagementEvent]]]:
    """Yield each learner with the events they produced and their true outcome."""
    rng = random.Random(seed)
    items = course_items()
    for n in range(n_learners):
        sub = f"{prefix}-{seed}-{n}"
        archetype = _archetype(rng)
        enrolled = start + timedelta(days=rng.randint(0, 6), hours=rng.randint(7, 20))
        plan = _plan(archetype, rng, days)
        events: list[EngagementEvent] = []
        last: datetime | None = None
        done_modules, failures = 0.0, 0
        for day in range(days):
            if day < plan.start_day or (plan.stop_day is not None and day > plan.stop_day):
                continue
            if plan.gap and plan.gap[0] <= day < plan.gap[1]:
                continue
            if plan.quit_after is not None and done_modules >= plan.quit_after:
                break
            if done_modules >= MODULES or rng.random() > plan.visit_p:
                continue
            at = enrolled + timedelta(days=day, hours=rng.uniform(0, 6))
            module = int(done_modules) + 1
            session = _session(sub, course_key, at, module, items, plan, rng, len(events))
            if plan.spike_module == module:
                failures += 1
                session.append(
                    _event(
                        sub,
                        course_key,
                        at + timedelta(minutes=40),
                        "failed",
                        f"module-{module}-quiz",
                        "assessment",
                        f"Module {module} quiz",
                        len(events) + len(session),
                        score=rng.uniform(0.2, 0.5),
                        success=False,
                    )
                )
                events += session
                last = at
                if failures >= rng.randint(2, 4):
                    break  # repeated failures, then silence
                continue
            events += session
            last = at
            done_modules += plan.pace * (0.35 if plan.short_sessions else 1.0)
            if int(done_modules) >= module:
                events.append(
                    _event(
                        sub,
                        course_key,
                        at + timedelta(minutes=45),
                        "passed",
                        f"module-{module}-quiz",
                        "assessment",
                        f"Module {module} quiz",
                        len(events),
                        score=rng.uniform(0.7, 1.0),
                        success=True,
                    )
                )
        completed = done_modules >= MODULES
        numbered = [e._replace(source_id=f"{sub}-{i}") for i, e in enumerate(events)]
        yield SyntheticLearner(sub, archetype, enrolled, completed, last), numbered


def _session(
    sub: str,
    course_key: str,
    at: datetime,
    module: int,
    items: list[CourseItem],
    plan: _Plan,
    rng: random.Random,
    offset: int,
) -> list[EngagementEvent]:
    minutes = rng.uniform(3, 8) if plan.short_sessions else rng.uniform(15, 45)
    out = [
        _event(sub, course_key, at, "logged_in", "", "", "", offset),
        _event(
            sub,
            course_key,
            at + timedelta(minutes=1),
            # A reading is done once read through (an LMS's "view" completion); short,
            # distracted sessions only open it.
            "viewed" if plan.short_sessions else "completed",
            f"module-{module}-page",
            "page",
            f"Module {module} reading",
            offset + 1,
            duration=minutes * 60,
        ),
    ]
    if not plan.short_sessions and rng.random() < 0.6:
        out.append(
            _event(
                sub,
                course_key,
                at + timedelta(minutes=20),
                "completed",
                f"module-{module}-video",
                "video",
                f"Module {module} video",
                offset + 2,
                duration=rng.uniform(300, 900),
            )
        )
    if plan.posts and rng.random() < 0.3:
        out.append(
            _event(
                sub,
                course_key,
                at + timedelta(minutes=30),
                "posted",
                "forum",
                "forum",
                "Course forum",
                offset + 3,
            )
        )
    if plan.errors and rng.random() < 0.8:
        out.append(
            _event(
                sub,
                course_key,
                at + timedelta(minutes=2),
                "errored",
                f"module-{module}-video",
                "video",
                f"Module {module} video",
                offset + 4,
            )
        )
    return out


def _event(
    sub: str,
    course_key: str,
    at: datetime,
    verb: str,
    item: str,
    kind: str,
    title: str,
    n: int,
    *,
    duration: float | None = None,
    score: float | None = None,
    success: bool | None = None,
) -> EngagementEvent:
    return EngagementEvent(
        actor=ActorRef(sub=sub),
        course_key=course_key,
        verb=verb,
        occurred_at=at,
        source="import",
        source_id=f"{sub}-{n}",
        item_id=item,
        item_kind=kind,
        item_title=title,
        duration_seconds=duration,
        score=score,
        success=success,
    )
