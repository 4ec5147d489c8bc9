from __future__ import annotations

import os

import pytest

from lti_tool.services import register_platform
from tests.platform.server import TestPlatform


@pytest.fixture
def test_platform():
    """A live local LTI platform (not yet registered with the tool)."""
    with TestPlatform() as platform:
        yield platform


@pytest.fixture
def platform(db, test_platform):
    """The live local platform, registered with one deployment."""
    test_platform.record = register_platform(
        issuer=test_platform.issuer,
        client_id=test_platform.client_id,
        auth_login_url=test_platform.auth_login_url,
        auth_token_url=test_platform.token_url,
        jwks_url=test_platform.jwks_url,
        deployment_ids=[test_platform.deployment_id],
        actor="test",
        name="Test LMS",
    )
    return test_platform


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters, credential and key caches never leak between tests."""
    from django.core.cache import cache

    from lti_tool import middleware
    from lti_tool.keys import platform as platform_keys
    from lti_tool.keys import tool as keys
    from lti_tool.launch import flow

    cache.clear()
    keys.forget_current_key()
    platform_keys.forget_platform_keys()
    flow.forget_lookups()
    middleware.forget_frame_origins()
    yield
    cache.clear()
    keys.forget_current_key()
    platform_keys.forget_platform_keys()
    flow.forget_lookups()
    middleware.forget_frame_origins()


@pytest.fixture
def smtp_server(settings):
    """A live local SMTP server, with Django's SMTP backend pointed at it."""
    from tests.mail import SmtpServer

    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        yield server


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
    # Frames stay in one renderer: under load Playwright lost track of an iframe that swapped
    # processes on each cross-site hop (platform -> tool -> platform -> tool) and waited out
    # its timeout on a page that had rendered. SameSite and postMessage rules are unchanged.
    "--disable-site-isolation-trials",
    "--disable-features=site-per-process,IsolateOrigins",
]


@pytest.fixture(scope="session")
def playwright_driver():
    """One Playwright driver for the run (a second one cannot start beside it)."""
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_driver):
    browser = playwright_driver.chromium.launch(
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
