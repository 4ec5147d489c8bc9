"""Subscribe a Canvas root account to Live Events (Caliper) sent to this tool."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from completion.ingest.caliper.canvas_subscriptions import DEFAULT_EVENTS, subscribe_account
from lti_tool.models import Deployment


class Command(BaseCommand):
    help = (
        "Register Finishline's Caliper endpoint with Canvas's Live Events Data Services "
        "(for a root account: events of every course arrive, those of known courses are kept)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deployment", type=int, required=True, help="deployment pk")
        parser.add_argument("--api-base", required=True, help="e.g. https://canvas.example.edu")
        parser.add_argument("--account-id", required=True, help="the root account's id")
        parser.add_argument(
            "--root-account-uuid",
            required=True,
            help="the root account's UUID ($vnd.Canvas.root_account.uuid)",
        )
        parser.add_argument(
            "--events", nargs="+", default=list(DEFAULT_EVENTS), help="Live Events types"
        )

    def handle(self, *args: Any, **o: Any) -> None:
        deployment = (
            Deployment.objects.select_related("platform").filter(pk=o["deployment"]).first()
        )
        if deployment is None:
            raise CommandError(f"no deployment {o['deployment']}")
        answer = subscribe_account(
            deployment=deployment,
            api_base=o["api_base"],
            account_id=o["account_id"],
            root_account_uuid=o["root_account_uuid"],
            event_types=o["events"],
            actor="manage.py subscribe_live_events",
        )
        self.stdout.write(f"Subscribed: {answer.get('id', answer)}")
