"""A learner's consent to the A/B tests of their course that ask for it (opt-in or opt-out),
given on their contact page; the planner reads it through `day_facts`."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from interventions.models import Experiment, ExperimentConsent
from lti_tool.audit.trail import append_audit
from lti_tool.models import Membership


def consent_experiments(membership: Membership) -> list[tuple[Experiment, bool | None]]:
    """The running tests of the learner's course that ask for consent, with their answer."""
    running = Experiment.objects.filter(
        course_id=membership.course_id, active=True, stopped_at__isnull=True
    ).exclude(consent_mode=Experiment.Consent.NONE)
    answers = dict(
        ExperimentConsent.objects.filter(membership=membership).values_list(
            "experiment_id", "consented"
        )
    )
    return [(e, answers.get(e.pk)) for e in running.order_by("pk")]


@transaction.atomic
def record_consent(membership: Membership, *, experiment_id: int, consented: bool) -> None:
    """The learner's own yes or no to a test of their course. Audited."""
    experiment = Experiment.objects.get(pk=experiment_id, course_id=membership.course_id)
    ExperimentConsent.objects.update_or_create(
        experiment=experiment, membership=membership,
        defaults={"consented": consented, "at": timezone.now()},
    )  # fmt: skip
    append_audit(
        actor=f"learner:{membership.person_id}",
        action="interventions.experiment_consent",
        obj=experiment,
        deployment=experiment.course.deployment,
        data={"experiment": experiment.pk, "consented": consented},
    )
