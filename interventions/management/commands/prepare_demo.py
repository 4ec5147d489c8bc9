"""Make the demo course show the product working, once: completion criteria a learner can meet,
every day of its history scored (so charts have their days), and the first plan run."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from completion.models import CompletionCriteria, Item
from completion.risk.services import update_criteria
from interventions.models import Intervention
from interventions.planning.planner import plan_course
from lti_tool.demo.platform import CONTEXT_ID
from lti_tool.models import Course

# The demo's criteria: watch the videos and pass the quizzes, and read most of the rest.
REQUIRED_KINDS = ("video", "assessment")
CONTENT_SHARE = 0.8


class Command(BaseCommand):
    help = "Demo course: criteria a learner can meet, the whole history scored, the first plan run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=28, help="days of history to score")

    def handle(self, *args: Any, **options: Any) -> None:
        course = Course.objects.filter(context_id=CONTEXT_ID).first()
        if course is None:
            raise CommandError("no demo course: run seed_demo first")
        if not CompletionCriteria.objects.filter(course=course).exists():
            required = list(
                Item.objects.filter(
                    course=course, kind__in=REQUIRED_KINDS, is_tool_lineitem=False
                ).values_list("pk", flat=True)
            )
            update_criteria(
                course=course,
                values={"required_item_ids": required, "min_content_share": CONTENT_SHARE},
                by="system:demo",
            )
            self.stdout.write(f"criteria: {len(required)} videos and quizzes, 80% of the content")
        call_command("score_risk", course=[course.pk], days=options["days"], stdout=self.stdout)
        if not Intervention.objects.filter(course_id=course.pk).exists():
            summary = plan_course(course_id=course.pk)
            self.stdout.write(f"first plan: {len(summary.actions)} actions")
