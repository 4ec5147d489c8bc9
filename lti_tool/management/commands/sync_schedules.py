"""Write the schedule list (config/schedules.py) into django-q2, by name; idempotent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_q.models import Schedule

from config.schedules import SCHEDULES


class Command(BaseCommand):
    help = "Create or update the recurring jobs; remove ones no longer listed."

    def handle(self, *args: Any, **options: Any) -> None:
        names = []
        for entry in SCHEDULES:
            values = {k: v for k, v in entry.items() if k != "name"}
            Schedule.objects.update_or_create(
                name=entry["name"], defaults={"repeats": -1, **values}
            )
            names.append(entry["name"])
        removed, _ = (
            Schedule.objects.exclude(name__in=names)
            .filter(func__regex=r"^(lti_tool|completion|interventions|certificates)\.")
            .delete()
        )
        self.stdout.write(f"{len(names)} schedules in place, {removed} removed.")
