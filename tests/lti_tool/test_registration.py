"""Dynamic registration end to end against the live local platform, then a launch."""

from __future__ import annotations

import pytest

from lti_tool.models import AuditEntry, Deployment, Platform
from lti_tool.registration.dynamic import TOOL_CONFIGURATION
from tests.platform.launcher import launch
from tests.platform.server import Response, TestPlatform

TOKEN = "reg-token-123"


@pytest.fixture
def registering_platform(test_platform):
    """The test platform answering registrations as Canvas and Moodle do."""
    test_platform.registrations = []

    def register(request):
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response(401, {"error": "invalid registration token"})
        body = request.json()
        test_platform.registrations.append(body)
        return Response(
            200,
            {
                **body,
                "client_id": test_platform.client_id,
                TOOL_CONFIGURATION: {
                    **body[TOOL_CONFIGURATION],
                    "deployment_id": test_platform.deployment_id,
                },
            },
        )

    test_platform.route("POST", "/register", register)
    return test_platform


def initiate(client, platform, token=TOKEN, path="/.well-known/openid-configuration"):
    return client.get(
        "/lti/register/",
        {"openid_configuration": platform.base_url + path, "registration_token": token},
    )


@pytest.mark.django_db
def test_dynamic_registration_registers_the_tool_and_the_platform_can_launch_it(
    client, registering_platform
):
    platform = registering_platform
    response = initiate(client, platform)
    assert response.status_code == 200
    assert b"registration-done.js" in response.content  # posts org.imsglobal.lti.close
    (sent,) = platform.registrations
    assert sent["initiate_login_uri"] == "http://127.0.0.1:8000/lti/login/"
    assert sent["redirect_uris"] == ["http://127.0.0.1:8000/lti/launch/"]
    assert sent["jwks_uri"] == "http://127.0.0.1:8000/lti/jwks/"
    assert sent["token_endpoint_auth_method"] == "private_key_jwt"
    assert set(sent["grant_types"]) == {"implicit", "client_credentials"}
    assert (
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly" in sent["scope"]
    )
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in sent["scope"]
    messages = {m["type"]: m for m in sent[TOOL_CONFIGURATION]["messages"]}
    assert messages["LtiResourceLinkRequest"]["placements"] == ["course_navigation"]
    assert "LtiDeepLinkingRequest" in messages
    stored = Platform.objects.get()
    assert (stored.issuer, stored.client_id, stored.status) == (
        platform.issuer,
        platform.client_id,
        "active",
    )
    assert stored.jwks_url == platform.jwks_url
    assert Deployment.objects.get().deployment_id == platform.deployment_id
    assert AuditEntry.objects.filter(action="platform.registered").exists()
    landing = launch(client, platform, sub="learner-9")
    assert landing.status_code == 200
    assert b"My progress" in landing.content


@pytest.mark.django_db
def test_registration_waiting_for_approval_refuses_launches_until_approved(
    client, registering_platform, settings
):
    from lti_tool.services import approve_platform

    settings.FINISHLINE = {**settings.FINISHLINE, "REGISTRATION_REQUIRES_APPROVAL": True}
    assert initiate(client, registering_platform).status_code == 200
    stored = Platform.objects.get()
    assert stored.status == "pending"
    refused = client.get(
        "/lti/login/",
        {
            "iss": registering_platform.issuer,
            "login_hint": "x",
            "client_id": registering_platform.client_id,
        },
    )
    assert refused.status_code == 403
    assert refused.context["code"] == "platform_pending"
    approve_platform(platform=stored, actor="admin")
    assert launch(client, registering_platform).status_code == 200


@pytest.mark.django_db
def test_wrong_registration_token_is_refused_and_nothing_is_stored(client, registering_platform):
    response = initiate(client, registering_platform, token="wrong")
    assert response.status_code == 502
    assert response.context["code"] == "register_refused"
    assert not Platform.objects.exists()


@pytest.mark.django_db
def test_issuer_not_matching_the_configuration_host_is_refused(client, registering_platform):
    config = registering_platform.openid_configuration()
    registering_platform.route(
        "GET",
        "/other-config",
        lambda r: Response(body={**config, "issuer": "https://elsewhere.example.com"}),
    )
    response = initiate(client, registering_platform, path="/other-config")
    assert response.status_code == 400
    assert response.context["code"] == "config_issuer"
    assert not Platform.objects.exists()


@pytest.mark.django_db
def test_unreachable_or_malformed_configuration_gives_a_clear_error(client, registering_platform):
    registering_platform.route(
        "GET", "/broken", lambda r: Response(body="not json", content_type="text/plain")
    )
    assert initiate(client, registering_platform, path="/broken").context["code"] == "config_fetch"
    registering_platform.route(
        "GET", "/partial", lambda r: Response(body={"issuer": registering_platform.issuer})
    )
    response = initiate(client, registering_platform, path="/partial")
    assert (response.status_code, response.context["code"]) == (502, "config_fields")
    no_params = client.get("/lti/register/")
    assert no_params.status_code == 400
    assert not Platform.objects.exists()


# --- Issue findings: registration as a request-forgery vector; approval locking out ---------


@pytest.mark.django_db
def test_a_redirect_from_the_configuration_url_is_not_followed_and_the_token_goes_nowhere(
    client, registering_platform
):
    with TestPlatform() as elsewhere:
        registering_platform.route(
            "GET",
            "/redir",
            lambda r: Response(302, "", {"Location": elsewhere.base_url + "/secret"}),
        )
        response = initiate(client, registering_platform, path="/redir")
        assert response.context["code"] == "config_fetch"
        assert elsewhere.requests == []  # never asked, so the bearer token never reached it
    assert not Platform.objects.exists()


@pytest.mark.django_db
def test_without_an_allowlist_a_loopback_platform_is_never_contacted(
    client, registering_platform, settings
):
    settings.FINISHLINE = {**settings.FINISHLINE, "OUTBOUND_ALLOW": ()}
    response = initiate(client, registering_platform)
    assert registering_platform.requests == []
    assert not Platform.objects.exists()
    # The page says the same as for a host that does not exist: it reveals nothing.
    unknown = client.get(
        "/lti/register/",
        {"openid_configuration": "http://no-such-host.invalid/config", "registration_token": "x"},
    )
    assert (response.status_code, response.context["reason"]) == (
        unknown.status_code,
        unknown.context["reason"],
    )


@pytest.mark.django_db
def test_the_issuer_must_match_the_configuration_url_in_scheme_host_and_port(
    client, registering_platform
):
    config = registering_platform.openid_configuration()
    other_port = registering_platform.base_url.rsplit(":", 1)[0] + ":1"
    registering_platform.route(
        "GET", "/port-config", lambda r: Response(body={**config, "issuer": other_port})
    )
    response = initiate(client, registering_platform, path="/port-config")
    assert response.context["code"] == "config_issuer"
    assert not Platform.objects.exists()


@pytest.mark.django_db
def test_an_active_platform_registering_again_stays_online_with_new_keys(
    client, registering_platform, settings
):
    assert initiate(client, registering_platform).status_code == 200
    assert launch(client, registering_platform).status_code == 200
    settings.FINISHLINE = {**settings.FINISHLINE, "REGISTRATION_REQUIRES_APPROVAL": True}
    # Moodle's "Update": the same client id registers again, now with a new key set URL.
    new_jwks = registering_platform.base_url + "/jwks-2"
    registering_platform.route(
        "GET", "/jwks-2", lambda r: Response(body=registering_platform.jwks())
    )
    config = {**registering_platform.openid_configuration(), "jwks_uri": new_jwks}
    registering_platform.route("GET", "/config-2", lambda r: Response(body=config))
    registering_platform.rotate_key()
    assert initiate(client, registering_platform, path="/config-2").status_code == 200
    platform = Platform.objects.get()
    assert (platform.status, platform.jwks_url) == ("active", new_jwks)
    assert list(Deployment.objects.values_list("deployment_id", "status")) == [
        (registering_platform.deployment_id, "active")
    ]
    assert launch(client, registering_platform, sub="after-update").status_code == 200


@pytest.mark.django_db
def test_a_pending_platform_may_frame_the_pages_that_tell_it_so(
    client, registering_platform, settings
):
    settings.FINISHLINE = {**settings.FINISHLINE, "REGISTRATION_REQUIRES_APPROVAL": True}
    origin = registering_platform.base_url
    done = initiate(client, registering_platform)
    assert origin in done["Content-Security-Policy"].split("frame-ancestors")[1].split(";")[0]
    refused = client.get(
        "/lti/login/",
        {"iss": origin, "login_hint": "x", "client_id": registering_platform.client_id},
    )
    assert refused.context["code"] == "platform_pending"
    assert origin in refused["Content-Security-Policy"].split("frame-ancestors")[1].split(";")[0]


@pytest.mark.django_db
def test_a_one_time_link_registers_an_active_platform_and_only_once(
    client, registering_platform, settings
):
    from urllib.parse import urlsplit

    from lti_tool.registration.dynamic import issue_link

    settings.FINISHLINE = {**settings.FINISHLINE, "REGISTRATION_REQUIRES_APPROVAL": True}
    path = urlsplit(issue_link(by="admin")).path
    query = {
        "openid_configuration": registering_platform.base_url + "/.well-known/openid-configuration",
        "registration_token": TOKEN,
    }
    assert client.get(path, query).status_code == 200
    assert Platform.objects.get().status == "active"
    again = client.get(path, query)
    assert (again.status_code, again.context["code"]) == (403, "registration_link")


@pytest.mark.django_db
def test_the_registration_link_command_prints_a_link_that_works_once(
    client, registering_platform, settings
):
    from io import StringIO
    from urllib.parse import urlsplit

    from django.core.management import call_command

    settings.FINISHLINE = {**settings.FINISHLINE, "REGISTRATION_REQUIRES_APPROVAL": True}
    out = StringIO()
    call_command("registration_link", stdout=out)
    url = out.getvalue().splitlines()[0]
    assert url.startswith("http://127.0.0.1:8000/lti/register/")
    query = {
        "openid_configuration": registering_platform.base_url + "/.well-known/openid-configuration",
        "registration_token": TOKEN,
    }
    assert client.get(urlsplit(url).path, query).status_code == 200
    assert Platform.objects.get().status == "active"
