"""Issue a one-time dynamic registration link: a platform registering through it is active."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from lti_tool.registration.dynamic import LINK_LIFETIME, issue_link


class Command(BaseCommand):
    help = (
        "Print a one-time LTI Dynamic Registration URL to paste into the LMS. A registration "
        "through it is active at once; others wait for approval (the default in production)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        url = issue_link(by="manage.py registration_link")
        self.stdout.write(url)
        self.stdout.write(f"Valid once, for {LINK_LIFETIME.days} days.", self.style.NOTICE)
