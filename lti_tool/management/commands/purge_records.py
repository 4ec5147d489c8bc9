"""Purge learning records older than each deployment's retention period (or preview it)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from lti_tool.audit.retention import purge_all


class Command(BaseCommand):
    help = (
        "Delete learning records older than each deployment's retention period. "
        "Certificates and the audit trail are never purged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be deleted; delete nothing."
        )
        parser.add_argument("--deployment", type=int, help="Only this deployment (primary key).")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        results = purge_all(
            now=timezone.now(),
            dry_run=dry_run,
            actor="manage.py purge_records",
            deployment_id=options["deployment"],
        )
        verb = "would delete" if dry_run else "deleted"
        for result in results:
            self.stdout.write(
                f"Deployment {result.deployment_id} ({result.deployment}): "
                f"records before {result.cutoff:%Y-%m-%d %H:%M} UTC"
            )
            for name, count in result.counts:
                self.stdout.write(f"  {name}: {verb} {count}")
        total = sum(count for result in results for _, count in result.counts)
        self.stdout.write(f"{'Dry run: ' if dry_run else ''}{verb} {total} records in total.")
