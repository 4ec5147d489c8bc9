"""A/B tests made from the interventions page: create one for a playbook step (arms that
change the message, the channel, the timing, or send nothing; a hold-out share; a consent
mode; a stop rule), stop it, adopt the winning arm into the course's playbook in one action,
and record a learner's consent from their contact page. Every change is audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from interventions.delivery import messages
from interventions.models import Experiment, PlaybookSetting
from interventions.planning import playbooks
from lti_tool.audit.trail import append_audit
from lti_tool.models import Course

CHANNELS = ("email", "sms")


class ExperimentRefused(ValueError):
    """A test that cannot be made or changed as asked."""


@dataclass(frozen=True)
class ArmSpec:
    """One arm: `kind` is message (a template key), channel, delay (hours) or none."""

    key: str
    kind: str
    value: str = ""

    def as_json(self) -> dict[str, object]:
        arm: dict[str, object] = {"key": self.key, "weight": 1}
        if self.kind == "message":
            if self.value not in messages.DEFAULTS:
                raise ExperimentRefused(f"arm {self.key}: {self.value!r} is not a message")
            arm["template"] = self.value
        elif self.kind == "channel":
            if self.value not in CHANNELS:
                raise ExperimentRefused(f"arm {self.key}: {self.value!r} is not a channel")
            arm["channels"] = [self.value]
        elif self.kind == "delay":
            try:
                hours = float(self.value)
            except ValueError as exc:
                raise ExperimentRefused(f"arm {self.key}: the delay must be hours") from exc
            if not 0 <= hours <= 168:
                raise ExperimentRefused(f"arm {self.key}: the delay must be 0 to 168 hours")
            arm["delay_hours"] = hours
        elif self.kind == "none":
            arm["none"] = True
        else:
            raise ExperimentRefused(f"arm {self.key}: choose what the arm changes")
        return arm


def learner_steps() -> list[tuple[str, str]]:
    """(step key, playbook name) of every learner-facing step, for the form."""
    return [
        (s.key, p.name)
        for p in playbooks.DEFAULT_PLAYBOOKS
        for s in p.steps
        if s.audience == playbooks.LEARNER
    ]


@transaction.atomic
def create_experiment(
    course: Course,
    *,
    step: str,
    name: str,
    arms: Sequence[ArmSpec],
    holdout_share: float,
    consent_mode: str,
    ends_on: date | None,
    max_per_arm: int | None,
    by: str,
) -> Experiment:
    """Start an A/B test of a learner-facing step; one running test per step."""
    if step not in dict(learner_steps()):
        raise ExperimentRefused("Choose a step that messages the learner.")
    if len(arms) < 2 or len({a.key for a in arms}) != len(arms):
        raise ExperimentRefused("A test needs at least two arms with different names.")
    if not 0 <= holdout_share < 0.5:
        raise ExperimentRefused("The hold-out share must be from 0% to under 50%.")
    if consent_mode not in Experiment.Consent.values:
        raise ExperimentRefused("Choose a consent mode.")
    if Experiment.objects.filter(course=course, step=step, active=True).exists():
        raise ExperimentRefused(f"{step} already has a running test; stop it first.")
    experiment = Experiment.objects.create(
        course=course, step=step, name=name.strip()[:200] or f"Test of {step}",
        arms=[a.as_json() for a in arms], holdout_share=holdout_share,
        consent_mode=consent_mode, requires_consent=consent_mode == Experiment.Consent.OPT_IN,
        started_at=timezone.now(), ends_on=ends_on, max_per_arm=max_per_arm, created_by=by,
    )  # fmt: skip
    _audit(experiment, "interventions.experiment_created", by, {"arms": experiment.arms})
    return experiment


@transaction.atomic
def stop_experiment(experiment: Experiment, *, by: str) -> Experiment:
    """No new learners join; the results stay on the page."""
    experiment.active, experiment.stopped_at = False, timezone.now()
    experiment.save(update_fields=["active", "stopped_at"])
    _audit(experiment, "interventions.experiment_stopped", by, {})
    return experiment


@transaction.atomic
def adopt_arm(experiment: Experiment, *, arm: str, by: str) -> PlaybookSetting:
    """Make an arm the step's behaviour for the course (its message, channel, timing, or no
    message) and stop the test."""
    spec = next((a for a in experiment.arms if a["key"] == arm), None)
    found = playbooks.find_step(playbooks.DEFAULT_PLAYBOOKS, experiment.step)
    if spec is None or found is None:
        raise ExperimentRefused("That arm is not part of this test.")
    book = found[0]
    setting, _ = PlaybookSetting.objects.get_or_create(course=experiment.course, playbook=book.key)
    override = dict(setting.step_overrides.get(experiment.step, {}))
    if spec.get("none"):
        override["enabled"] = False
    if spec.get("template"):
        override["template"] = spec["template"]
    if spec.get("channels"):
        override["channels"] = list(spec["channels"])
    if spec.get("delay_hours") is not None:
        override["send_delay_hours"] = float(spec["delay_hours"])
    setting.step_overrides = {**setting.step_overrides, experiment.step: override}
    setting.save(update_fields=["step_overrides"])
    experiment.adopted_arm, experiment.active = arm, False
    experiment.stopped_at = experiment.stopped_at or timezone.now()
    experiment.save(update_fields=["adopted_arm", "active", "stopped_at"])
    _audit(experiment, "interventions.experiment_adopted", by, {"arm": arm, "override": override})
    return setting


def _audit(experiment: Experiment, action: str, by: str, data: dict[str, object]) -> None:
    append_audit(
        actor=by,
        action=action,
        obj=experiment,
        deployment=experiment.course.deployment,
        data={"experiment": experiment.pk, "step": experiment.step, **data},
    )
