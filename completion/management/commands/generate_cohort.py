"""Generate a synthetic cohort with known outcomes: `generate_cohort --course X --learners N`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from completion.ingest.files.imports import load_events
from completion.ingest.files.records import record_outcomes
from completion.models import Outcome
from completion.risk.synthetic import simulate
from lti_tool.models import Course, Membership, Person, Role


class Command(BaseCommand):
    help = "Write realistic events for N synthetic learners of a course and their true outcomes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--course", required=True, help="course pk or LTI context id")
        parser.add_argument("--learners", type=int, default=200)
        parser.add_argument("--days", type=int, default=42)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--start", default="", help="first enrolment day (default: DAYS ago)")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the course already has a generated cohort",
        )

    def handle(self, *args: Any, **o: Any) -> None:
        key = o["course"]
        courses = Course.objects.filter(context_id=key)
        if key.isdigit():
            courses = courses | Course.objects.filter(pk=int(key))
        course = courses.select_related("deployment").first()
        if course is None:
            raise CommandError(f"no course {key!r}")
        if o["if_empty"] and Outcome.objects.filter(membership__course=course).exists():
            self.stdout.write(f"{course}: already has a generated cohort.")
            return
        start = (
            datetime.fromisoformat(o["start"]).replace(tzinfo=UTC)
            if o["start"]
            else timezone.now() - timedelta(days=o["days"])
        )
        learners = []

        def events() -> Any:
            for learner, learner_events in simulate(
                n_learners=o["learners"],
                days=o["days"],
                seed=o["seed"],
                start=start,
                course_key=course.context_id,
            ):
                learners.append(learner)
                yield from learner_events

        with transaction.atomic():
            # First pass: the learners only (the generator is deterministic for a seed), so the
            # events can then stream into the store without being held in memory.
            self._enrol(
                course,
                [
                    lr
                    for lr, _ in simulate(
                        n_learners=o["learners"],
                        days=o["days"],
                        seed=o["seed"],
                        start=start,
                        course_key=course.context_id,
                    )
                ],
                o["seed"],
            )
            result = load_events(course.deployment, events())
        completed = sum(1 for learner in learners if learner.completed)
        self.stdout.write(
            f"{course}: {len(learners)} learners ({completed} will complete), "
            f"{result.stored} events stored, {result.duplicate} already there."
        )

    def _enrol(self, course: Course, simulated: list[Any], seed: int) -> None:
        learners = simulated
        Person.objects.bulk_create(
            [
                Person(
                    deployment=course.deployment,
                    sub=lr.sub,
                    name=lr.sub.replace("-", " ").title(),
                    email=f"{lr.sub}@example.edu",  # so messages and reminders can be sent
                )
                for lr in learners
            ],
            ignore_conflicts=True,
        )
        people = dict(
            Person.objects.filter(
                deployment=course.deployment, sub__in=[lr.sub for lr in learners]
            ).values_list("sub", "pk")
        )
        Membership.objects.bulk_create(
            [
                Membership(
                    course=course,
                    person_id=people[lr.sub],
                    role=Role.LEARNER,
                    enrolled_at=lr.enrolled_at,
                    status_changed_at=lr.enrolled_at,
                )
                for lr in learners
            ],
            ignore_conflicts=True,
        )
        memberships = dict(
            Membership.objects.filter(course=course, person__sub__in=people).values_list(
                "person__sub", "pk"
            )
        )
        now = timezone.now()
        record_outcomes(
            [
                Outcome(
                    membership_id=memberships[lr.sub],
                    result=Outcome.Result.COMPLETED if lr.completed else Outcome.Result.WITHDRAWN,
                    decided_on=(lr.last_active_at or lr.enrolled_at).date(),
                    source=Outcome.Source.SYNTHETIC,
                    note=f"{lr.archetype} (seed {seed})",
                    recorded_at=now,
                )
                for lr in learners
            ]
        )
