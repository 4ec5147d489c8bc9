from __future__ import annotations

import os
from pathlib import Path

import pytest

SCREENSHOTS = Path(os.environ.get("FINISHLINE_SCREENSHOTS", "artifacts/screenshots"))


@pytest.fixture
def demo_server(live_server, settings):
    """The live server with the demo LMS seeded at its own address."""
    from django.core.management import call_command

    settings.TOOL_BASE_URL = live_server.url
    call_command("seed_demo")
    return live_server


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def audit(browser):
    """A tab for the axe checks: axe-core is injected as an inline script, which our
    Content-Security-Policy rightly refuses, so this tab (and only this one) bypasses it."""
    context = browser.new_context(viewport={"width": 1100, "height": 800}, bypass_csp=True)
    yield context.new_page()
    context.close()
