"""Subscribe a Canvas course to Live Events (Caliper) sent to this tool."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from completion.ingest.caliper.canvas_subscriptions import subscribe_course
from lti_tool.models import Course


class Command(BaseCommand):
    help = "Register Finishline's Caliper endpoint with Canvas's Live Events Data Services."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--course", type=int, required=True, help="course pk")
        parser.add_argument("--api-base", required=True, help="e.g. https://canvas.example.edu")
        parser.add_argument("--context-type", default="course", choices=["course", "root_account"])
        parser.add_argument("--context-id", default="", help="default: the course's context id")

    def handle(self, *args: Any, **o: Any) -> None:
        course = (
            Course.objects.select_related("deployment__platform").filter(pk=o["course"]).first()
        )
        if course is None:
            raise CommandError(f"no course {o['course']}")
        answer = subscribe_course(
            course=course,
            api_base=o["api_base"],
            context_type=o["context_type"],
            context_id=o["context_id"],
            actor="manage.py subscribe_live_events",
        )
        self.stdout.write(f"Subscribed: {answer.get('id', answer)}")
