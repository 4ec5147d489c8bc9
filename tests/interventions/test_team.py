"""A manager (named by the launch claim or the HR roster) sees their team's compliance and
open escalations, and nobody else's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from interventions.models import AdvisorCase
from tests.helpers import token_for
from tests.interventions.helpers import NOW, enrol

pytestmark = pytest.mark.django_db


def test_a_manager_sees_their_team_and_its_escalations_only(course):
    boss = enrol(course, "boss", email="boss@example.com")
    ada, bob = enrol(course, "ada", name="Ada Lovelace"), enrol(course, "bob", name="Bob Other")
    ada.person.attributes = {"manager_email": "BOSS@example.com"}
    ada.person.save()
    bob.person.attributes = {"manager_email": "someone@example.com"}
    bob.person.save()
    AdvisorCase.objects.create(membership=ada, reason="No response to the absence email",
                               due_at=NOW + timedelta(days=2), opened_at=NOW)  # fmt: skip
    AdvisorCase.objects.create(membership=bob, reason="Bob's case",
                               due_at=NOW + timedelta(days=2), opened_at=NOW)  # fmt: skip
    page = Client().get("/messages/team/", HTTP_X_FINISHLINE_LAUNCH=token_for(boss)).content
    body = page.decode()
    assert "Ada Lovelace" in body
    assert "No response to the absence email" in body
    assert "Bob Other" not in body
    assert "Bob's case" not in body
    alone = Client().get("/messages/team/", HTTP_X_FINISHLINE_LAUNCH=token_for(bob)).content
    assert "Nobody reports to you" in alone.decode()


def test_cases_held_for_the_digest_are_listed_apart_from_open_escalations(course):
    boss = enrol(course, "boss", email="boss@example.com")
    ada = enrol(course, "ada", name="Ada Lovelace")
    ada.person.attributes = {"manager_email": "boss@example.com"}
    ada.person.save()
    due = NOW + timedelta(days=2)
    AdvisorCase.objects.create(membership=ada, reason="Opened and contacted", due_at=due,
                               opened_at=NOW)  # fmt: skip
    AdvisorCase.objects.create(membership=ada, reason="Over the daily cap", due_at=due,
                               opened_at=NOW, status=AdvisorCase.Status.BATCHED)  # fmt: skip
    AdvisorCase.objects.create(membership=ada, reason="Already in a digest", due_at=due,
                               opened_at=NOW, status=AdvisorCase.Status.BATCHED,
                               digest_sent_at=NOW)  # fmt: skip
    AdvisorCase.objects.create(membership=ada, reason="Done with", due_at=due, opened_at=NOW,
                               status=AdvisorCase.Status.RESOLVED)  # fmt: skip
    body = Client().get("/messages/team/", HTTP_X_FINISHLINE_LAUNCH=token_for(boss)).content
    escalations, digest = body.decode().split("Open escalations</h2>")[1].split("today's digest")
    assert "Opened and contacted" in escalations
    assert "Over the daily cap" not in escalations
    assert "Over the daily cap" in digest
    assert "in the next digest" in digest
    assert f"in the digest of {NOW:%-d %b}" in digest
    assert "Opened and contacted" not in digest
    assert "Done with" not in body.decode()
