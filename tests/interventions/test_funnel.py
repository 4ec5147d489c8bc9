from __future__ import annotations

import pytest
from django.utils import timezone

from interventions.measurement.outcomes import intervention_funnel
from interventions.models import Intervention
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
    funnel = {s.label: (s.count, s.share) for s in intervention_funnel(course_id=course.pk)}
    assert funnel["Steps planned"] == (5, 100.0)  # a dry run is not a step
    assert funnel["Sent"] == (4, 80.0)
    assert funnel["Measured after 48 h"][0] == 3
    assert funnel["Back within 48 h"][0] == 2
    assert funnel["Back within 7 days"][0] == 1
