from __future__ import annotations

import os
from pathlib import Path

import pytest

SCREENSHOTS = Path(os.environ.get("FINISHLINE_SCREENSHOTS", "artifacts/screenshots"))
CHROMIUM = "/usr/bin/chromium"
# Flags the machines here need: no sandbox as root, and no background calls to the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    yield page
    context.close()


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
