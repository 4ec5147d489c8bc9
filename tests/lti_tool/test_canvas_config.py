"""The JSON configuration URL a Canvas admin gives a Developer Key ("Enter URL")."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import resolve

from lti_tool.models import Course
from lti_tool.registration.dynamic import SCOPES
from lti_tool.views import jwks, launch, login
from tests.platform.launcher import launch as launch_into

pytestmark = pytest.mark.django_db

LTI = "https://purl.imsglobal.org/spec/lti/claim/"


def configuration(settings):
    settings.TOOL_BASE_URL = "https://finishline.example.edu"
    response = Client().get("/lti/canvas.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_every_url_canvas_reads_is_one_of_the_tools_endpoints(settings):
    config = configuration(settings)
    assert config["title"] == "Finishline"
    assert resolve(urlsplit(config["oidc_initiation_url"]).path).func.__name__ == login.__name__
    assert resolve(urlsplit(config["target_link_uri"]).path).func.__name__ == launch.__name__
    assert resolve(urlsplit(config["public_jwk_url"]).path).func.__name__ == jwks.__name__
    for url in (config["oidc_initiation_url"], config["target_link_uri"], config["public_jwk_url"]):
        assert url.startswith("https://finishline.example.edu/")
    extension = config["extensions"][0]
    assert extension["platform"] == "canvas.instructure.com"
    assert extension["domain"] == "finishline.example.edu"
    assert extension["privacy_level"] == "public"
    icon = urlsplit(extension["settings"]["icon_url"]).path
    assert (settings.BASE_DIR / "static" / icon.removeprefix("/static/")).is_file()
    placements = {p["placement"]: p for p in extension["settings"]["placements"]}
    assert placements["course_navigation"]["message_type"] == "LtiResourceLinkRequest"
    assert placements["link_selection"]["message_type"] == "LtiDeepLinkingRequest"
    assert all(p["target_link_uri"] == config["target_link_uri"] for p in placements.values())
    assert config["scopes"] == list(SCOPES)


def test_a_launch_carrying_the_configured_custom_fields_stores_canvas_ids(platform, settings):
    config = configuration(settings)
    settings.TOOL_BASE_URL = "http://127.0.0.1:8000"
    # Canvas substitutes its variables in the custom fields it was configured with.
    values = {"$Canvas.course.id": "4211", "$Canvas.user.id": "977"}
    custom = {k: values.get(v, v) for k, v in config["custom_fields"].items()}
    response = launch_into(Client(), platform, body_overrides={LTI + "custom": custom})
    assert response.status_code == 200
    assert Course.objects.get(context_id="course-1").canvas_course_id == "4211"
