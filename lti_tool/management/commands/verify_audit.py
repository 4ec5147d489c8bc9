"""Verify the audit trail's hash chain and name the first broken entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from lti_tool.audit.trail import verify_chain


class Command(BaseCommand):
    help = "Check every audit entry's hash and link; exit non-zero at the first break."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = verify_chain()
        if broken is not None:
            raise CommandError(
                f"Audit chain broken at entry {broken.entry_id}: {broken.reason} "
                f"({checked} entries before it are intact)."
            )
        self.stdout.write(f"Audit chain intact: {checked} entries.")
