"""A small synthetic cohort for evaluating the risk engine (stand-in for completion.risk.synthetic).

Learners follow archetypes (steady, late starter, early drop-out, fader, struggler, ghost) with
noise, on a course of 10 content items, two quizzes and a forum, enrolling over the first 10
days. Outcomes are not stored: `completion.risk.evaluation.known_outcomes` derives them from
the data (completed = every item done; dropped = idle 21+ days), as it does for real courses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from completion.models import Activity, Item
from lti_tool.models import Course, Deployment, Membership, Person

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
CONTENT = 10
QUIZ_AFTER = {4: "Module 4 quiz", 9: "Final quiz"}
ARCHETYPES = (
    ("steady", 0.34),
    ("late_starter", 0.10),
    ("early_drop", 0.18),
    ("fader", 0.20),
    ("struggler", 0.12),
    ("ghost", 0.06),
)


@dataclass
class Learner:
    archetype: str
    ability: float
    visit: float
    speed: float
    stop_day: int | None
    errors: float


def make_course(deployment: Deployment, context_id: str) -> tuple[Course, list[Item]]:
    course = Course.objects.create(
        deployment=deployment, context_id=context_id, title=f"Synthetic {context_id}"
    )
    items: list[Item] = []
    for k in range(CONTENT):
        kind = "video" if k % 3 == 2 else "page"
        items.append(
            Item(
                course=course,
                external_id=f"c{k}",
                kind=kind,
                title=f"Module {k}",
                source="api",
                position=len(items),
            )
        )
        if k in QUIZ_AFTER:
            items.append(
                Item(
                    course=course,
                    external_id=f"q{k}",
                    kind="assessment",
                    title=QUIZ_AFTER[k],
                    source="api",
                    position=len(items),
                )
            )
    items.append(
        Item(
            course=course,
            external_id="forum",
            kind="forum",
            title="Forum",
            source="api",
            position=len(items),
        )
    )
    Item.objects.bulk_create(items)
    return course, list(Item.objects.filter(course=course).order_by("position"))


def _learner(rng: random.Random) -> Learner:
    archetype = rng.choices([a for a, _ in ARCHETYPES], [w for _, w in ARCHETYPES])[0]
    ability = rng.uniform(0.45, 0.95)
    visit, speed, stop, errors = rng.uniform(0.5, 0.9), rng.uniform(0.5, 1.2), None, 0.02
    if archetype == "late_starter":
        speed = rng.uniform(0.9, 1.5)
    elif archetype == "early_drop":
        stop = rng.randint(1, 12)
        errors = rng.choice((0.02, 0.25))
    elif archetype == "fader":
        stop = rng.randint(12, 40)
        visit = rng.uniform(0.6, 0.9)
    elif archetype == "struggler":
        ability = rng.uniform(0.15, 0.5)
    elif archetype == "ghost":
        stop = 0
    return Learner(archetype, ability, visit, speed, stop, errors)


def _p_visit(lr: Learner, t: int) -> float:
    if lr.archetype == "late_starter":
        return 0.15 if t < 12 else 0.85
    if lr.archetype == "fader" and lr.stop_day:
        return lr.visit * max(0.15, 1 - t / lr.stop_day)
    return lr.visit


def simulate(
    lr: Learner, enrolled: datetime, items: list[Item], days: int, rng: random.Random
) -> list[tuple[Item | None, str, datetime, float | None, float | None]]:
    """Events of one learner: (item, verb, when, seconds, score)."""
    out: list[tuple[Item | None, str, datetime, float | None, float | None]] = []
    path = [i for i in items if i.kind != "forum"]
    forum = items[-1]
    current, progress, failures = 0, 0.0, 0
    for t in range(days):
        if lr.stop_day is not None and t > lr.stop_day:
            break
        if lr.archetype == "ghost" or current >= len(path) or rng.random() > _p_visit(lr, t):
            continue
        at = enrolled + timedelta(days=t, hours=rng.uniform(0, 10))
        out.append((None, "logged_in", at, None, None))
        if rng.random() < lr.errors:
            out.append((None, "errored", at + timedelta(minutes=1), None, None))
        budget = lr.speed * rng.uniform(0.6, 1.4)
        while budget > 0 and current < len(path):
            item = path[current]
            at += timedelta(minutes=rng.uniform(5, 25))
            if item.kind == "assessment":
                score = max(0.0, min(1.0, rng.gauss(lr.ability + 0.05 * failures, 0.15)))
                out.append((item, "attempted", at, rng.uniform(300, 900), None))
                passed = score >= 0.6
                out.append((item, "passed" if passed else "failed", at, None, round(score, 3)))
                if passed:
                    current, failures = current + 1, 0
                else:
                    failures += 1
                    if lr.archetype == "struggler" and failures >= 3 and rng.random() < 0.5:
                        return out
                budget -= 0.7
                continue
            step = min(budget, 1.0 - progress)
            seconds = step * rng.uniform(500, 1500)
            out.append((item, "viewed" if progress == 0 else "progressed", at, seconds, None))
            progress += step
            budget -= step
            if progress >= 0.999:
                out.append((item, "completed", at + timedelta(seconds=seconds), None, None))
                current, progress = current + 1, 0.0
        if rng.random() < 0.12 + 0.2 * lr.ability:
            out.append((forum, "posted", at + timedelta(minutes=3), 120.0, None))
    return out


def generate(
    deployment: Deployment, *, context_id: str, learners: int, days: int, seed: int
) -> tuple[Course, dict[str, int]]:
    """A course with `learners` synthetic learners over `days` days; returns archetype counts."""
    rng = random.Random(seed)
    course, items = make_course(deployment, context_id)
    counts: dict[str, int] = {}
    rows: list[Activity] = []
    for n in range(learners):
        lr = _learner(rng)
        counts[lr.archetype] = counts.get(lr.archetype, 0) + 1
        enrolled = START + timedelta(days=rng.randint(0, 9), hours=rng.uniform(0, 10))
        person = Person.objects.create(
            deployment=deployment, sub=f"{context_id}-{n}", name=f"Learner {n}"
        )
        Membership.objects.create(
            course=course,
            person=person,
            role="learner",
            enrolled_at=enrolled,
            status_changed_at=enrolled,
        )
        for k, (item, verb, at, seconds, score) in enumerate(
            simulate(lr, enrolled, items, days, rng)
        ):
            rows.append(
                Activity(
                    course=course,
                    person=person,
                    item=item,
                    verb=verb,
                    occurred_at=at,
                    received_at=at,
                    duration_seconds=seconds,
                    score=score,
                    source="import",
                    source_id=f"{n}-{k}",
                )
            )
    Activity.objects.bulk_create(rows, batch_size=5000)
    return course, counts
