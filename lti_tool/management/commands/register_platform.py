"""Register a platform by hand, for LMSs without LTI Dynamic Registration."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from lti_tool.middleware import forget_frame_origins
from lti_tool.models import Platform
from lti_tool.services import register_platform


class Command(BaseCommand):
    help = "Register (or update) a platform's issuer, client id, endpoints and deployments."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--issuer", required=True)
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--auth-login-url", required=True)
        parser.add_argument("--auth-token-url", required=True)
        parser.add_argument("--jwks-url", required=True)
        parser.add_argument("--deployment-id", action="append", required=True, dest="deployments")
        parser.add_argument("--auth-token-audience", default="")
        parser.add_argument("--name", default="")
        parser.add_argument("--product", choices=Platform.Product.values, default="other")

    def handle(self, *args: Any, **o: Any) -> None:
        platform = register_platform(
            issuer=o["issuer"],
            client_id=o["client_id"],
            auth_login_url=o["auth_login_url"],
            auth_token_url=o["auth_token_url"],
            jwks_url=o["jwks_url"],
            deployment_ids=o["deployments"],
            auth_token_audience=o["auth_token_audience"],
            name=o["name"],
            product=o["product"],
            actor="manage.py register_platform",
        )
        forget_frame_origins()  # its origins may frame the tool from now on, not in a minute
        self.stdout.write(f"Registered {platform} with deployments {', '.join(o['deployments'])}.")
