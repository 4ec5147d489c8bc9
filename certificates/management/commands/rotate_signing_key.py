"""Rotate the certificates' Ed25519 signing key: new certificates are signed with a new key;
the old ones stay published, so certificates already issued keep verifying."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from certificates.signing import rotate_signing_key


class Command(BaseCommand):
    help = "Sign new certificates with a new Ed25519 key; earlier keys stay published."

    def handle(self, *args: Any, **options: Any) -> None:
        key = rotate_signing_key()
        self.stdout.write(f"Certificates are now signed with key {key.pk}.")
