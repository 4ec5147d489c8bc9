"""Canvas's JSON configuration for a Developer Key's "Enter URL" method.

A Canvas admin creates an LTI key (Admin → Developer Keys → + Developer Key → + LTI Key),
chooses "Enter URL", and gives `<tool>/lti/canvas.json`; Canvas reads the tool's name, login
and launch URLs, key set, scopes, placements and custom fields from it. Then the admin turns
the key on, installs the tool by its client id, and registers Canvas with Finishline (see
docs/installing.md). The same placements and scopes as dynamic registration.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from lti_tool.registration.dynamic import CANVAS_CUSTOM_PARAMETERS, SCOPES

DESCRIPTION = "Completion tracking, daily drop-out risk and timely interventions."


def canvas_configuration() -> dict[str, Any]:
    base = settings.TOOL_BASE_URL
    launch_url = base + "/lti/launch/"
    title = settings.FINISHLINE["TOOL_TITLE"]
    icon = base + "/static/finishline/icon.svg"
    return {
        "title": title,
        "description": DESCRIPTION,
        "oidc_initiation_url": base + "/lti/login/",
        "target_link_uri": launch_url,
        "public_jwk_url": base + "/lti/jwks/",
        "scopes": list(SCOPES),
        # Live Events name courses and users by Canvas's own ids: the launch stores them.
        "custom_fields": {**CANVAS_CUSTOM_PARAMETERS, "finishline_placement": "dashboard"},
        "extensions": [
            {
                "platform": "canvas.instructure.com",
                "privacy_level": "public",  # names and emails: messages reach the learners
                "domain": urlsplit(base).netloc,
                "tool_id": "finishline",
                "settings": {
                    "text": title,
                    "icon_url": icon,
                    "placements": [
                        {
                            "placement": "course_navigation",
                            "message_type": "LtiResourceLinkRequest",
                            "target_link_uri": launch_url,
                            "text": title,
                            "icon_url": icon,
                            "default": "enabled",
                            "visibility": "members",
                        },
                        {
                            "placement": "link_selection",
                            "message_type": "LtiDeepLinkingRequest",
                            "target_link_uri": launch_url,
                            "text": f"Add {title}",
                            "icon_url": icon,
                        },
                        {
                            "placement": "assignment_selection",
                            "message_type": "LtiDeepLinkingRequest",
                            "target_link_uri": launch_url,
                            "text": f"Add {title}",
                            "icon_url": icon,
                        },
                    ],
                },
            }
        ],
    }
