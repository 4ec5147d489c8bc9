"""The demo course shows each feature: a manager, an SMS-consenting learner, an accommodation,
a running A/B test, an escalation and an expiring certificate (seeding twice changes nothing)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from certificates.models import Certificate
from completion.models import Accommodation
from interventions.models import AdvisorCase, ContactPreference, Experiment, Intervention
from lti_tool.models import Person

pytestmark = pytest.mark.django_db


def test_the_demo_course_has_every_feature_switched_on(settings):
    settings.TOOL_BASE_URL = "http://127.0.0.1:8000"
    for _ in range(2):
        for command in ("seed_demo", "seed_demo_interventions", "seed_demo_certificates"):
            call_command(command, verbosity=0)
    assert Person.objects.get(sub="demo-learner-2").attributes["manager_email"]
    sms = ContactPreference.objects.get(person__sub="demo-learner-3")
    assert sms.sms_opt_in
    assert sms.phone_verified_at is not None
    assert Accommodation.objects.get(membership__person__sub="demo-learner-4").pace_percent == 80
    assert Experiment.objects.get().active
    escalation = Intervention.objects.get(step="absent_10")
    assert "h of absent_4" in escalation.detail
    assert AdvisorCase.objects.count() == 1
    cert = Certificate.objects.get()
    assert cert.expires_at is not None
    assert cert.expires_at - timezone.now() < timedelta(days=31)
