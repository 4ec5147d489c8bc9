"""An instructor's launch refreshes the course roster from NRPS in the background, at most
once per ROSTER_SYNC_ON_LAUNCH_MINUTES; a learner's launch does not."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from lti_tool.claims import NRPS
from lti_tool.models import Membership
from tests.platform.launcher import landing_url, launch
from tests.platform.services import Services, member

pytestmark = pytest.mark.django_db


def nrps_launch(platform, services, *, sub, role):
    claim = {NRPS: {"context_memberships_url": services.nrps_url, "service_versions": ["2.0"]}}
    return launch(Client(), platform, sub=sub, role=role, context_id="ABC", body_overrides=claim)


def test_an_instructor_launch_syncs_the_roster_once_per_window(
    platform, settings, django_capture_on_commit_callbacks
):
    cache.clear()
    services = Services(platform)
    services.members = [member("teach", "Instructor"), member("a"), member("b"), member("c")]
    with django_capture_on_commit_callbacks(execute=True):
        nrps_launch(platform, services, sub="l-1", role="Learner")
    assert Membership.objects.count() == 1  # a learner's launch syncs nothing
    with django_capture_on_commit_callbacks(execute=True):
        nrps_launch(platform, services, sub="teach", role="Instructor")
    assert Membership.objects.filter(course__context_id="ABC").count() == 5
    services.differences = [member("d")]  # the next sync reads the differences link
    with django_capture_on_commit_callbacks(execute=True):
        nrps_launch(platform, services, sub="teach", role="Instructor")
    assert not Membership.objects.filter(person__sub="d").exists()  # within the window
    cache.clear()  # the window has passed
    with django_capture_on_commit_callbacks(execute=True):
        nrps_launch(platform, services, sub="teach", role="Instructor")
    assert Membership.objects.filter(person__sub="d").exists()


def test_a_placement_opens_the_page_it_was_registered_for(platform):
    custom = {
        "https://purl.imsglobal.org/spec/lti/claim/custom": {"finishline_placement": "progress"}
    }
    staff = launch(Client(), platform, sub="t-1", role="Instructor", body_overrides=custom)
    assert landing_url(staff).startswith("/course/risk/")
    learner = launch(Client(), platform, sub="l-9", role="Learner", body_overrides=custom)
    assert landing_url(learner).startswith("/me/")
    plain = launch(Client(), platform, sub="t-2", role="Instructor")
    assert not landing_url(plain).startswith("/course/risk/")  # the staff's usual landing
