"""The navigation bar per role, the favicon, friendly error pages and confirmations."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

from lti_tool import context_processors as navigation
from tests.platform.launcher import launch, launch_token

INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
NAV = re.compile(r'<nav class="mainnav" aria-label="Main">(.*?)</nav>', re.S)


def _labels(html: str) -> list[str]:
    found = NAV.search(html)
    assert found, "no navigation bar"
    return re.findall(r">([^<>]+)</a>", found.group(1))


@pytest.mark.parametrize(
    ("role", "context_id", "expected"),
    [
        ("Instructor", "course-1", [label for label, _, _ in navigation.INSTRUCTOR_NAV]),
        ("Learner", "course-1", ["My progress", "Certificates", "Pause", "My data"]),
        (
            INSTITUTION + "Administrator",
            "",
            ["Institution", "Registrations", "Reports", "Audit", "Settings"],
        ),
    ],
)
def test_each_role_sees_its_navigation_on_the_landing_page(
    client, platform, role, context_id, expected
):
    landing = launch(client, platform, sub=f"nav-{len(role)}", role=role, context_id=context_id)
    assert _labels(landing.content.decode()) == expected


def test_every_instructor_link_opens_and_marks_itself_current(client, platform):
    token = launch_token(launch(client, platform, sub="teacher", role="Instructor"))
    for label, name, _ in navigation.INSTRUCTOR_NAV:
        from django.urls import reverse

        page = client.get(reverse(name), HTTP_X_FINISHLINE_LAUNCH=token)
        assert page.status_code == 200, (label, page.status_code)
        html = page.content.decode()
        current = re.search(r'aria-current="page">([^<]+)<', html)
        assert current, label
        assert current.group(1) == label


def test_the_business_outcomes_are_reachable_from_the_bar(client, platform):
    landing = launch(client, platform, sub="teacher", role="Instructor").content.decode()
    assert 'href="/business/course/"' in NAV.search(landing).group(1)  # type: ignore[union-attr]


def test_favicon_answers(db):
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("finishline/icon.svg")


@override_settings(DEBUG=False)
def test_an_unknown_certificate_shows_a_friendly_page_without_debug_output(db):
    response = Client().get("/certificates/verify/NO-SUCH-SERIAL/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "URLconf" not in body
    assert "Traceback" not in body
    missing = Client().get("/no/such/page/")
    assert missing.status_code == 404
    assert "We could not find that page" in missing.content.decode()
    assert "URLconf" not in missing.content.decode()


def test_a_learner_is_refused_staff_pages_in_plain_words(client, platform):
    token = launch_token(launch(client, platform, sub="learner-9", role="Learner"))
    refused = client.get("/course/risk/", HTTP_X_FINISHLINE_LAUNCH=token)
    assert refused.status_code == 403
    assert "does not give access to this page" in refused.content.decode()


def test_current_label_prefers_the_own_url_then_the_longest_prefix():
    own = {"Learners": "/course/risk/", "Interventions": "/messages/course/"}
    assert navigation.current_label("/course/risk/", list(own), own) == "Learners"
    assert navigation.current_label("/messages/course/learners/4/", list(own), own) == "Learners"
    assert navigation.current_label("/messages/course/playbooks/", list(own), own) == (
        "Interventions"
    )
    assert navigation.current_label("/elsewhere/", list(own), own) == ""
