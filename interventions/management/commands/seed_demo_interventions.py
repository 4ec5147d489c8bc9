"""Add to the demo course what the intervention features need to be seen at once: a manager,
an SMS-consenting learner with a verified number, an accommodation, a running A/B test, an
escalation on non-response and a learner who reads Spanish, with the Spanish wording of two
steps (idempotent; after `seed_demo`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from completion.risk.services import set_accommodation
from interventions.models import (
    AdvisorCase,
    ContactPreference,
    Experiment,
    Intervention,
    MessageTemplate,
)
from interventions.playbook_editor.experiments import ArmSpec, create_experiment
from lti_tool.models import Course, Membership, Role

DEMO_COURSE = "demo-course-safety-101"
MANAGER = "ines@example.edu"  # the demo instructor manages the demo learners too


class Command(BaseCommand):
    help = "Seed the demo course's contact preferences, accommodation, A/B test and escalation."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        course = Course.objects.get(context_id=DEMO_COURSE)
        learners = {
            m.person.sub: m
            for m in Membership.objects.filter(course=course, role=Role.LEARNER)
            .select_related("person")
            .filter(person__sub__startswith="demo-learner-")
        }
        seed_demo_features(course, learners)
        self.stdout.write(
            "Demo features ready: manager, SMS, accommodation, A/B test, escalation, Spanish."
        )


def seed_demo_features(course: Course, learners: dict[str, Membership]) -> None:
    now = timezone.now()
    with_manager, sms, accommodated, escalated = (
        learners["demo-learner-2"], learners["demo-learner-3"],
        learners["demo-learner-4"], learners["demo-learner-5"],
    )  # fmt: skip
    for m in learners.values():  # every demo learner reports to the same manager
        m.person.attributes = {**m.person.attributes, "manager_email": MANAGER}
        m.person.timezone = m.person.timezone or "Europe/London"
        m.person.save(update_fields=["attributes", "timezone", "updated_at"])
    with_manager.person.attributes = {**with_manager.person.attributes, "phone": "+447700900002"}
    with_manager.person.save(update_fields=["attributes", "updated_at"])
    ContactPreference.objects.update_or_create(
        person=sms.person,
        defaults={"phone": "+447700900003", "phone_verified_at": now, "sms_opt_in": True,
                  "sms_opt_out": False, "quiet_hours_start": None, "quiet_hours_end": None},
    )  # fmt: skip
    set_accommodation(
        membership=accommodated, time_multiplier=1.5, deadline_extension_days=7, pace_percent=80,
        alternative_requirements="An oral check instead of the written Module 4 quiz",
        note="demo accommodation", by="seed_demo",
    )  # fmt: skip
    if not Experiment.objects.filter(course=course, step="absent_2").exists():
        create_experiment(
            course, step="absent_2", name="Progress-saved email now or 6 hours later",
            arms=[ArmSpec("now", "message", "progress_saved"), ArmSpec("later", "delay", "6")],
            holdout_share=0.1, consent_mode=Experiment.Consent.OPT_OUT, ends_on=None,
            max_per_arm=200, by="seed_demo",
        )  # fmt: skip
    _escalation(course, escalated, now)
    _spanish(course, learners["demo-learner-6"])


SPANISH = {
    "welcome": (
        "Bienvenido a {{ course }}",
        "Hola {{ first_name }}:\n\nBienvenido a {{ course }}. Tu primer paso es "
        "{{ next_item|default:'el primer módulo' }}{% if link %}: {{ link }}{% endif %}.\n",
    ),
    "progress_saved": (
        "Tu progreso en {{ course }} está guardado",
        "Hola {{ first_name }}: tu progreso está guardado; llevas el {{ percent }} % de "
        "{{ course }}.{% if link %} Sigue donde lo dejaste: {{ link }}{% endif %}\n",
    ),
}


def _spanish(course: Course, m: Membership) -> None:
    """A learner who chose Spanish, and the course's Spanish wording of two steps."""
    for key, (subject, body) in SPANISH.items():
        MessageTemplate.objects.update_or_create(
            course=course, key=key, language="es", defaults={"subject": subject, "body": body}
        )
    ContactPreference.objects.update_or_create(person=m.person, defaults={"language": "es"})


def _escalation(course: Course, m: Membership, now: Any) -> None:
    """An absence email and SMS nobody answered, escalated to the instructor's inbox."""
    episode = "demo-absence"
    owner = Membership.objects.filter(course=course, role=Role.INSTRUCTOR).first()
    case, _ = AdvisorCase.objects.get_or_create(
        membership=m, reason="No response to the absence email and SMS",
        defaults={"owner": owner.person if owner else None, "due_at": now + timedelta(days=2),
                  "opened_at": now - timedelta(hours=2),
                  "context": {"step": "absent_10"}},
    )  # fmt: skip
    steps = (
        ("absent_2", 1, ["email"], now - timedelta(days=5), "now", None),
        ("absent_4", 2, ["email", "sms"], now - timedelta(days=3),
         "no return visit, click or reply within 48 h of absent_2; now", None),
        ("absent_10", 3, ["inbox", "chat"], now - timedelta(hours=2),
         "escalated to staff: no return visit, click or reply within 72 h of absent_4", case),
    )  # fmt: skip
    for step, tier, channels, at, detail, linked in steps:
        Intervention.objects.get_or_create(
            membership=m, step=step, episode=episode,
            defaults={"course": course, "playbook": "absence", "tier": tier,
                      "channels": channels, "status": Intervention.Status.SENT, "detail": detail,
                      "planned_at": at, "send_at": at, "case": linked},
        )  # fmt: skip
