"""Make the demo course show the product working, once: completion criteria a learner can meet,
every day of its history scored (so charts have their days), the first plan run, and the case
digest of that plan sent at once (through the outbox, to the demo's mail page) rather than at
the next daily run, which leaves out the cases it lists."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from completion.models import CompletionCriteria, Item
from completion.risk.services import update_criteria
from interventions.delivery.digest import send_case_digests
from interventions.models import Intervention
from interventions.planning.planner import plan_course
from lti_tool.demo.platform import CONTEXT_ID
from lti_tool.models import Course

# The demo's criteria: watch the videos and pass the quizzes, and read most of the rest.
REQUIRED_KINDS = ("video", "assessment")
CONTENT_SHARE = 0.8


class Command(BaseCommand):
    help = (
        "Demo course: criteria a learner can meet, the whole history scored, the first plan "
        "run and its case digest sent."
    )

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
        # Cases over the daily cap wait for the daily digest; a newcomer reads the first now.
        # Each case goes in one digest, so the next daily run does not list these again.
        sent = send_case_digests()
        if sent:
            self.stdout.write(f"case digests: {sent} queued (read them on /demo/mail/)")
