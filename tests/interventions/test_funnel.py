from __future__ import annotations

import pytest
from django.utils import timezone

from interventions.measurement.outcomes import intervention_funnel
from interventions.models import Intervention, OutboundMessage
from tests.interventions.helpers import enrol

pytestmark = pytest.mark.django_db


def test_the_funnel_counts_planned_sent_measured_and_recovered(course):
    m = enrol(course, "ada")
    now = timezone.now()
    rows = [
        ("sent", True, True), ("sent", True, False), ("sent", False, False), ("sent", None, None),
        ("suppressed", None, None), ("dry_run", None, None),
    ]  # fmt: skip
    for n, (status, r48, r7) in enumerate(rows):
        Intervention.objects.create(membership=m, course=course, playbook="absence", step=f"s{n}",
                                    episode=f"e{n}", status=status, planned_at=now,
                                    reengaged_48h=r48, reengaged_7d=r7)  # fmt: skip
    for n, status in enumerate(["pending", "sending", "sent", "sent", "bounced", "failed"]):
        OutboundMessage.objects.create(
            idempotency_key=f"k{n}", deployment=course.deployment, course=course, membership=m,
            channel="email", to_address="ada@example.edu", body_text="hi", status=status,
            not_before=now,
        )  # fmt: skip
    funnel = {s.label: (s.count, s.share) for s in intervention_funnel(course_id=course.pk)}
    assert funnel["Playbook steps planned"] == (5, 100.0)  # a dry run is not a step
    # Messages count as what the outbox says they are, not as sent when planned.
    assert funnel["Messages queued"][0] == 2
    assert funnel["Messages sent"][0] == 2
    assert funnel["Bounced or failed"][0] == 2
    assert funnel["Measured after 48 h"][0] == 3
    assert funnel["Back within 48 h"][0] == 2
    assert funnel["Back within 7 days"][0] == 1
