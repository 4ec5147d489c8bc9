"""The README's Moodle 4.5 steps, followed against a platform answering as Moodle 4.5 does.

Moodle's registration (step 2) reads the tool's registration answer; what it offers to enable
afterwards (step 3: activity chooser, deep linking, AGS, NRPS, name and email) depends on that
answer, so the test checks it is there. Moodle names no platform (step 5): Finishline shows the
issuer's host. The platform configuration below has Moodle 4.5's shape (no `name` in its
platform configuration, `product_family_code: moodle`).
"""

from __future__ import annotations

from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from lti_tool.models import Deployment, Platform
from lti_tool.registration.dynamic import PLATFORM_CONFIGURATION, TOOL_CONFIGURATION
from tests.completion.riskdata import enrol
from tests.helpers import token_for
from tests.lti_tool.test_platform_shapes import MOODLE_CLAIMS
from tests.platform.launcher import launch
from tests.platform.server import Response

pytestmark = pytest.mark.django_db
TOKEN = "moodle-registration-token"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"


@pytest.fixture
def moodle(test_platform):
    """The local platform answering registration as Moodle 4.5's openid-registration.php."""
    test_platform.registrations = []

    def configuration(request):
        config = test_platform.openid_configuration()
        config[PLATFORM_CONFIGURATION] = {
            "product_family_code": "moodle",
            "version": "4.5.5 (Build: 20250609)",
            "messages_supported": [
                {"type": "LtiResourceLinkRequest"},
                {"type": "LtiDeepLinkingRequest", "placements": ["ContentArea"]},
            ],
            "variables": ["basic-lti-launch-request", "Context.id", "Person.email.primary"],
        }
        return Response(body=config)

    def register(request):
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response(401, {"error": "invalid registration token"})
        body = request.json()
        test_platform.registrations.append(body)
        tool = {**body[TOOL_CONFIGURATION], "deployment_id": test_platform.deployment_id}
        return Response(
            200, {**body, "client_id": test_platform.client_id, TOOL_CONFIGURATION: tool}
        )

    test_platform.route("GET", "/.well-known/openid-configuration", configuration)
    test_platform.route("POST", "/register", register)
    return test_platform


def test_the_readme_moodle_steps_register_activate_and_launch(moodle, settings):
    settings.FINISHLINE = {**settings.FINISHLINE, "REGISTRATION_REQUIRES_APPROVAL": True}
    # Step 1: the operator prints a one-time registration link.
    out = StringIO()
    call_command("registration_link", stdout=out)
    link = out.getvalue().splitlines()[0]
    # Step 2: "Tool URL" + "Add LTI Advantage": Moodle opens the link with its configuration.
    page = Client().get(
        urlsplit(link).path,
        {
            "openid_configuration": moodle.base_url + "/.well-known/openid-configuration",
            "registration_token": TOKEN,
        },
    )
    assert page.status_code == 200
    assert "Finishline is now registered" in page.content.decode()
    platform = Platform.objects.get()
    assert (platform.status, platform.product) == ("active", "moodle")
    assert Deployment.objects.get(platform=platform).deployment_id == moodle.deployment_id

    # Step 3: what Moodle can then switch on comes from the registration it received.
    [registration] = moodle.registrations
    tool = registration[TOOL_CONFIGURATION]
    messages = {m["type"] for m in tool["messages"]}
    assert {
        "LtiResourceLinkRequest",
        "LtiDeepLinkingRequest",
    } <= messages  # chooser, Select content
    scopes = registration["scope"].split()
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in scopes  # grade sync
    assert "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly" in scopes
    assert {"name", "email"} <= set(tool["claims"])  # privacy: name and email
    assert registration["initiate_login_uri"].endswith("/lti/login/")

    # Step 4: the activity added from the chooser launches; Moodle sends no platform name.
    claims = {**MOODLE_CLAIMS}
    claims[LTI + "tool_platform"] = {
        k: v for k, v in MOODLE_CLAIMS[LTI + "tool_platform"].items() if k != "name"
    }
    client = Client()
    response = launch(client, moodle, sub="2", role="Instructor", body_overrides=claims)
    assert response.status_code == 200
    assert "Today in " in response.content.decode()

    # Step 5: Finishline names the platform by its host until an admin names it.
    platform.refresh_from_db()
    assert str(platform) == "127.0.0.1"
    course = platform.deployments.get().courses.get()
    admin = enrol(course, "moodle-admin", role="admin")
    console = Client().get("/console/", HTTP_X_FINISHLINE_LAUNCH=token_for(admin, "admin"))
    assert "<td>127.0.0.1</td>" in console.content.decode()
