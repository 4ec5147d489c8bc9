"""The demo LMS outside the local modes: absent unless FINISHLINE_DEMO_LMS=on (settings.DEMO_LMS),
even with the demo seeded; when on, served under its own origin (FINISHLINE_DEMO_LMS_URL)
framing the tool's, without the admin launch or the mail page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TOOL = "https://tool.example.edu"
LMS = "https://lms-demo.example.edu"
PATHS = ["/demo/lms/?as=learner", "/demo/lms/?as=instructor", "/demo/platform/jwks/"]


@pytest.fixture
def production(settings):
    settings.LOCAL = False
    settings.TOOL_BASE_URL = TOOL
    settings.ALLOWED_HOSTS = ["tool.example.edu", "lms-demo.example.edu"]
    return settings


def get(path, host="lms-demo.example.edu"):
    return Client().get(path, secure=True, HTTP_HOST=host)


def test_off_every_demo_address_is_absent_though_the_demo_is_seeded(production):
    production.DEMO_LMS, production.DEMO_LMS_URL = False, ""
    call_command("seed_demo")
    assert [get(p, "tool.example.edu").status_code for p in PATHS] == [404, 404, 404]
    assert "Launch as" not in get("/", "tool.example.edu").content.decode()


def test_on_it_launches_from_its_own_origin_into_the_tools(production):
    production.DEMO_LMS, production.DEMO_LMS_URL = True, LMS
    call_command("seed_demo")
    home = get("/").content.decode()
    assert "Launch as instructor" in home
    assert "Launch as learner" in home
    assert "Launch as admin" not in home
    page = get("/demo/lms/?as=instructor")
    assert page.status_code == 200
    src = page.context["login_url"]
    assert src.startswith(TOOL + "/lti/login/?")
    assert parse_qs(urlsplit(src).query)["iss"] == [LMS + "/demo/platform"]
    assert f"frame-src 'self' {TOOL};" in page["Content-Security-Policy"]
    assert get("/demo/lms/?as=admin").status_code == 404
    assert get("/demo/mail/").status_code == 404


def settings_in_production(**env):
    """config.settings imported as `./run production` would, with `env` added."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FINISHLINE_", "DJANGO_"))}
    base.update(SECRET_KEY="x" * 30 + "abcdefghijklmnopqrstuvwxyz", **env)
    code = "import config.settings as s; print(s.DEMO_LMS, s.DEMO_LMS_URL, s.ALLOWED_HOSTS)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True
    )


def test_production_settings_keep_it_off_unless_plainly_switched_on():
    assert settings_in_production().stdout.split()[0] == "False"
    on = settings_in_production(FINISHLINE_DEMO_LMS="on", FINISHLINE_DEMO_LMS_URL=LMS)
    assert on.stdout.startswith(f"True {LMS} "), on.stderr[-500:]
    assert "lms-demo.example.edu" in on.stdout
    for env in ({"FINISHLINE_DEMO_LMS": "yes"}, {"FINISHLINE_DEMO_LMS_URL": LMS}):
        refused = settings_in_production(**env)
        assert refused.returncode != 0
        assert "FINISHLINE_DEMO_LMS" in refused.stderr
