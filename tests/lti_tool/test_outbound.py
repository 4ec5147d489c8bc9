"""The guarded outbound client: no private or metadata targets, no redirects, pinned addresses."""

from __future__ import annotations

import socket

import pytest

from lti_tool import outbound
from lti_tool.webhooks import WebhookRefused, subscribe
from tests.lti_tool.test_webhooks import make_deployment


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://10.1.2.3/",
        "http://192.168.0.10:6379/",
        "http://[fd00:ec2::254]/",
        "http://100.64.0.1/",  # shared address space
        "http://0.0.0.0:5432/",
    ],
)
def test_private_link_local_and_metadata_addresses_are_refused_before_any_connection(url):
    with pytest.raises(outbound.AddressRefused, match="the address is not allowed"):
        outbound.session().get(url)


def test_loopback_needs_the_allowlist(settings, test_platform):
    assert outbound.session().get(test_platform.jwks_url).status_code == 200
    settings.FINISHLINE = {**settings.FINISHLINE, "OUTBOUND_ALLOW": ()}
    with pytest.raises(outbound.AddressRefused):
        outbound.session().get(test_platform.jwks_url)
    assert len(test_platform.requests) == 1


def test_production_asks_https_only(settings):
    settings.LOCAL = False
    with pytest.raises(outbound.AddressRefused, match="only https"):
        outbound.session().get("http://lms.example.edu/jwks")
    with pytest.raises(outbound.AddressRefused):
        outbound.check_url("https://user:pw@lms.example.edu/")


def test_a_connection_uses_the_address_it_vetted_and_never_looks_up_again(
    monkeypatch, test_platform
):
    """DNS rebinding: the second answer for the name would be a private address."""
    port = int(test_platform.base_url.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "10.9.9.9", "10.9.9.9"])
    asked = []

    def rebinding_resolver(host, *args, **kwargs):
        if host != "rebind.test":
            return real(host, *args, **kwargs)
        asked.append(host)
        return real(next(answers), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_resolver)
    response = outbound.session().get(f"http://rebind.test:{port}/jwks")
    assert response.status_code == 200
    assert asked == ["rebind.test"]  # one lookup, and the connection went to that address
    with pytest.raises(outbound.AddressRefused):
        outbound.session().get(f"http://rebind.test:{port}/jwks")  # now answers 10.9.9.9


def test_a_redirect_is_an_answer_not_a_new_target(test_platform):
    from tests.platform.server import Response

    test_platform.route(
        "GET", "/go", lambda r: Response(302, "", {"Location": "http://169.254.169.254/"})
    )
    response = outbound.session().get(test_platform.base_url + "/go")
    assert response.status_code == 302


def test_an_answer_larger_than_its_limit_is_cut_off(test_platform):
    with pytest.raises(outbound.OutboundError, match="larger than 100 bytes"):
        outbound.session(max_bytes=100).get(test_platform.jwks_url)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/hook", "http://10.0.0.5/hook", "https://[::1]/x"]
)
def test_a_webhook_to_a_private_or_metadata_address_is_refused(url, settings):
    settings.FINISHLINE = {**settings.FINISHLINE, "OUTBOUND_ALLOW": ()}
    with pytest.raises(WebhookRefused, match="not allowed"):
        subscribe(deployment=make_deployment(), url=url, events=[], by="test")
