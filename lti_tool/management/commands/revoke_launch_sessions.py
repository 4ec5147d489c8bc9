"""End open launch sessions at once: of a whole deployment, or of one person in it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lti_tool.launch.sessions import revoke_sessions
from lti_tool.models import Deployment, Person


class Command(BaseCommand):
    help = (
        "End every open Finishline launch session of a deployment (or of one person in it, "
        "by LTI sub): their pages stop working at once; a new launch from the LMS opens a new one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deployment", required=True, help="the LTI deployment_id or its pk")
        parser.add_argument("--sub", default="", help="only this person (their LTI sub)")

    def handle(self, *args: Any, **options: Any) -> None:
        key = options["deployment"]
        found = Deployment.objects.filter(deployment_id=key)
        if key.isdigit():
            found = found | Deployment.objects.filter(pk=int(key))
        deployment = found.first()
        if deployment is None:
            raise CommandError(f"no deployment {key!r}")
        person_id = None
        if options["sub"]:
            person = Person.objects.filter(deployment=deployment, sub=options["sub"]).first()
            if person is None:
                raise CommandError(f"no person {options['sub']!r} in that deployment")
            person_id = person.pk
        count = revoke_sessions(
            deployment=deployment, person_id=person_id, by="manage.py revoke_launch_sessions"
        )
        self.stdout.write(f"{count} open session(s) ended.")
