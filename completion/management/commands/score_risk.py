"""Score risk for a day, as it would have looked then (events up to the end of that day)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from completion.risk.scoring import score_course, today
from completion.risk.selectors import predictor_of
from lti_tool.models import Course


class Command(BaseCommand):
    help = "Compute progress, signals and risk for every learner of a course (or all) on a day."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="YYYY-MM-DD (default: today, UTC)",
        )
        parser.add_argument(
            "--course",
            type=int,
            action="append",
            default=None,
            help="course id (repeatable; default: every live course)",
        )
        parser.add_argument(
            "--model",
            type=int,
            default=None,
            help="score with this stored model (default: the course's choice)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = options["as_of"] or today()
        ids = options["course"] or list(
            Course.objects.filter(retired_at__isnull=True).values_list("pk", flat=True)
        )
        missing = set(ids) - set(Course.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if missing:
            raise CommandError(f"no such course: {', '.join(map(str, sorted(missing)))}")
        for course_id in ids:
            started = time.perf_counter()
            predictor = None
            if options["model"] is not None:
                predictor = predictor_of(
                    Course.objects.get(pk=course_id), model_id=options["model"]
                )
                if predictor is None:
                    raise CommandError(f"no model {options['model']} for course {course_id}")
            s = score_course(course_id, as_of=as_of, predictor=predictor)
            self.stdout.write(
                f"course {course_id} as of {as_of}: {s.learners} learners, red {s.red}, "
                f"yellow {s.yellow}, green {s.green} ({time.perf_counter() - started:.2f} s)"
            )
