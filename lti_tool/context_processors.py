"""What every page needs to carry its launch on: the session secret and the page's own URL."""

from __future__ import annotations

from django.http import HttpRequest


def launch(request: HttpRequest) -> dict[str, str]:
    return {
        "launch_token": getattr(request, "launch_token", ""),
        "page_url": getattr(request, "page_url", ""),
    }
