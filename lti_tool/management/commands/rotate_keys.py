"""Rotate the tool's signing key: next becomes current, a new next is published."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from lti_tool.keys.tool import public_jwks, rotate_keys


class Command(BaseCommand):
    help = "Promote the published next key to current and publish a new next key."

    def handle(self, *args: Any, **options: Any) -> None:
        key = rotate_keys(actor="manage.py rotate_keys")
        kids = [k["kid"] for k in public_jwks()["keys"]]
        self.stdout.write(f"Signing with {key.kid}; JWKS now publishes {', '.join(kids)}.")
