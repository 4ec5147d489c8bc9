"""Score risk for a day, as it would have looked then (events up to the end of that day).

`--days N` scores the N days ending on that day, oldest first, so charts over time have a
history; days already scored for a course are kept (today is always scored again).
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from completion.models import RiskScore
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
        parser.add_argument(
            "--days",
            type=int,
            default=1,
            help="score this many days ending on --as-of, skipping days already scored",
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
            predictor = None
            if options["model"] is not None:
                predictor = predictor_of(
                    Course.objects.get(pk=course_id), model_id=options["model"]
                )
                if predictor is None:
                    raise CommandError(f"no model {options['model']} for course {course_id}")
            scored = set(
                RiskScore.objects.filter(course_id=course_id, as_of__lt=as_of)
                .values_list("as_of", flat=True)
                .distinct()
            )
            for back in range(max(options["days"], 1) - 1, -1, -1):
                day = as_of - timedelta(days=back)
                if day in scored:
                    continue
                started = time.perf_counter()
                s = score_course(course_id, as_of=day, predictor=predictor)
                self.stdout.write(
                    f"course {course_id} as of {day}: {s.learners} learners, red {s.red}, "
                    f"yellow {s.yellow}, green {s.green} ({time.perf_counter() - started:.2f} s)"
                )
