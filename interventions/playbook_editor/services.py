"""Instructors' edits to the default playbooks and message templates of their course.

A course stores only what differs from the defaults (`PlaybookSetting.step_overrides`,
`MessageTemplate`), so improvements to the defaults reach every course that did not change
that step. The planner applies the overrides (`planner.effective_playbooks`); this module
reads them for the settings page and validates and saves the instructor's changes, audited.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.template import TemplateSyntaxError

from interventions.delivery import messages
from interventions.models import Channel, MessageTemplate, PlaybookSetting
from interventions.planning import playbooks
from lti_tool.audit.trail import append_audit
from lti_tool.models import Course

# What a step's number means, by trigger kind (the settings page shows it next to the field).
UNITS: Mapping[str, str] = {
    "enrolled_hours": "hours after enrolment",
    "enrolled_hours_not_started": "hours after enrolment, if nothing is started",
    "absent_days": "days without a visit",
    "item_failures": "failures on one assessment",
    "avoided_after_failure_days": "days an assessment is avoided after a failure",
    "signal": "when the signal fires",
    "signal_hours": "hours after the signal fires",
    "returned_days": "days after the learner returns",
    "milestone": "% of the course done",
    "completed_days": "days after completion",
}
FIXED_KINDS = frozenset({"signal", "milestone", "item_failures"})  # the number is the rule itself
LEARNER_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.CHAT)
STAFF_CHANNELS = (Channel.INBOX, Channel.CHAT)
MAX_DELAY = 365.0


class SettingsRefused(ValueError):
    """An edit the planner could not honour (an unknown channel, a negative delay, bad syntax)."""


@dataclass(frozen=True)
class StepRow:
    key: str
    template: str
    audience: str
    enabled: bool
    channels: tuple[str, ...]
    allowed_channels: tuple[str, ...]
    value: float
    unit: str
    editable_value: bool
    customised: bool
    adopted: str = ""  # what an adopted A/B winner set (its message or timing), in words


@dataclass(frozen=True)
class PlaybookRow:
    key: str
    name: str
    enabled: bool
    dry_run: bool
    steps: tuple[StepRow, ...]


def playbook_rows(course: Course) -> list[PlaybookRow]:
    settings = {s.playbook: s for s in PlaybookSetting.objects.filter(course=course)}
    rows = []
    for book in playbooks.DEFAULT_PLAYBOOKS:
        setting = settings.get(book.key)
        overrides = setting.step_overrides if setting else {}
        steps = tuple(_step_row(step, overrides.get(step.key, {})) for step in book.steps)
        rows.append(
            PlaybookRow(
                book.key,
                book.name,
                setting.enabled if setting else True,
                setting.dry_run if setting else False,
                steps,
            )
        )
    return rows


def _step_row(step: playbooks.Step, override: Mapping[str, object]) -> StepRow:
    learner = step.audience == playbooks.LEARNER
    channels = override.get("channels", step.channels)
    value = override.get("delay", step.trigger.value)
    template = override.get("template", step.template)
    return StepRow(
        key=step.key,
        template=template if isinstance(template, str) else step.template,
        audience=step.audience,
        enabled=override.get("enabled", True) is not False,
        channels=tuple(channels) if isinstance(channels, list | tuple) else step.channels,
        allowed_channels=tuple(LEARNER_CHANNELS if learner else STAFF_CHANNELS),
        value=float(value) if isinstance(value, int | float | str) else step.trigger.value,
        unit=UNITS.get(step.trigger.kind, step.trigger.kind),
        editable_value=step.trigger.kind not in FIXED_KINDS,
        customised=bool(override),
        adopted=_adopted_words(override),
    )


def _adopted_words(override: Mapping[str, object]) -> str:
    said = []
    if "template" in override:
        said.append(f"message “{str(override['template']).replace('_', ' ')}”")
    delay = override.get("send_delay_hours")
    if isinstance(delay, int | float):
        said.append(f"sent {delay:g} h after it is due" if delay else "sent when due")
    return "A/B winner adopted: " + ", ".join(said) if said else ""


@dataclass(frozen=True)
class StepChoice:
    enabled: bool
    channels: tuple[str, ...]
    value: float | None  # None: not editable or not given


@transaction.atomic
def save_playbooks(
    course: Course,
    *,
    enabled: Mapping[str, bool],
    dry_run: Mapping[str, bool],
    steps: Mapping[str, StepChoice],
    by: str,
) -> int:
    """Store the course's choices as overrides of the defaults; returns playbooks changed."""
    changed = 0
    for book in playbooks.DEFAULT_PLAYBOOKS:
        current = PlaybookSetting.objects.filter(course=course, playbook=book.key).first()
        adopted = _adopted(current.step_overrides if current else {})
        overrides = {
            step.key: o
            for step in book.steps
            if step.key in steps
            and (o := {**adopted.get(step.key, {}), **_override(step, steps[step.key])})
        }
        on, dry = enabled.get(book.key, True), dry_run.get(book.key, False)
        if current is None and on and not dry and not overrides:
            continue
        if current is not None and (current.enabled, current.dry_run, current.step_overrides) == (
            on,
            dry,
            overrides,
        ):
            continue
        PlaybookSetting.objects.update_or_create(
            course=course,
            playbook=book.key,
            defaults={"enabled": on, "dry_run": dry, "step_overrides": overrides},
        )
        append_audit(
            actor=by,
            action="interventions.playbook_changed",
            deployment=course.deployment,
            data={"course": course.pk, "playbook": book.key, "enabled": on, "dry_run": dry,
                  "step_overrides": overrides},
        )  # fmt: skip
        changed += 1
    return changed


# Overrides an adopted A/B winner wrote, which this page does not edit and keeps.
ADOPTED_KEYS = ("template", "send_delay_hours")


def _adopted(overrides: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, object]]:
    return {
        key: {k: v for k, v in o.items() if k in ADOPTED_KEYS}
        for key, o in overrides.items()
        if any(k in ADOPTED_KEYS for k in o)
    }


def _override(step: playbooks.Step, choice: StepChoice) -> dict[str, object]:
    allowed = LEARNER_CHANNELS if step.audience == playbooks.LEARNER else STAFF_CHANNELS
    unknown = set(choice.channels) - set(allowed)
    if unknown:
        raise SettingsRefused(f"{step.key}: {', '.join(sorted(unknown))} is not a channel here.")
    if choice.enabled and not choice.channels:
        raise SettingsRefused(f"{step.key}: choose at least one channel, or switch the step off.")
    override: dict[str, object] = {}
    if not choice.enabled:
        override["enabled"] = False
    if choice.channels and tuple(choice.channels) != step.channels:
        override["channels"] = list(choice.channels)
    if choice.value is not None and step.trigger.kind not in FIXED_KINDS:
        if not 0 <= choice.value <= MAX_DELAY:
            raise SettingsRefused(f"{step.key}: the timing must be between 0 and {MAX_DELAY:g}.")
        if choice.value != step.trigger.value:
            override["delay"] = choice.value
    return override


# --- message templates -----------------------------------------------------------------------

SAMPLE_CONTEXT: Mapping[str, object] = {
    "first_name": "Alex",
    "learner": "Alex Sample",
    "course": "Workplace Safety 101",
    "percent": 42,
    "gap": 18,
    "due": "2026-12-18",
    "item": "Module 4 quiz",
    "days_absent": 4,
    "reasons": "4 days since last visit; usually visits daily",
    "next_item": "Module 4: Fire exits",
    "link": "https://lms.example.edu/courses/101/modules/4",
    "minutes_left": 15,
    "item_minutes": 40,
}


def template_keys(rows: Sequence[PlaybookRow]) -> list[str]:
    return sorted({s.template for r in rows for s in r.steps if s.template in messages.DEFAULTS})


def template_for(course: Course, key: str, language: str = "") -> tuple[messages.MessageText, bool]:
    """The course's wording of a template in `language` (blank: the course's own language),
    and whether it is stored; a translation not written yet starts from the course's wording."""
    if key not in messages.DEFAULTS:
        raise SettingsRefused(f"There is no template {key!r}.")
    rows = {
        t.language: t for t in MessageTemplate.objects.filter(course=course, key=key,
                                                             language__in=["", language])
    }  # fmt: skip
    row = rows.get(language) or rows.get("")
    text = messages.MessageText(row.subject, row.body) if row else messages.DEFAULTS[key]
    return text, language in rows


def translations_of(course: Course, key: str) -> list[str]:
    """The languages a course has translated a template into."""
    return sorted(
        MessageTemplate.objects.filter(course=course, key=key)
        .exclude(language="")
        .values_list("language", flat=True)
    )


LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")


def language_tag(raw: str) -> str:
    """A BCP 47 language tag as stored ("es", "pt-br"); SettingsRefused when it is not one."""
    tag = raw.strip().replace("_", "-").lower()
    if tag and not LANGUAGE_TAG.fullmatch(tag):
        raise SettingsRefused(f"{raw!r} is not a language code (try es, fr or pt-br).")
    return tag[:20]


def preview(key: str, subject: str, body: str) -> messages.MessageText:
    """The wording rendered for a sample learner; raises SettingsRefused on bad syntax."""
    text = messages.MessageText(subject, body)
    try:
        return messages.render(key, SAMPLE_CONTEXT, text)
    except TemplateSyntaxError as exc:
        raise SettingsRefused(f"The template does not compile: {exc}") from exc


@transaction.atomic
def save_template(
    course: Course, key: str, *, subject: str, body: str, by: str, language: str = ""
) -> bool:
    """Store a course's wording, or its translation into `language` (empty subject and body:
    back to the default wording, or the translation removed)."""
    if key not in messages.DEFAULTS:
        raise SettingsRefused(f"There is no template {key!r}.")
    language = language_tag(language)
    mine = MessageTemplate.objects.filter(course=course, key=key, language=language)
    if not subject.strip() and not body.strip():
        deleted, _ = mine.delete()
        _audit(course, key, by, reset=True, language=language)
        return deleted > 0
    if not subject.strip() or not body.strip():
        raise SettingsRefused("A message needs both a subject and a body.")
    preview(key, subject, body)
    MessageTemplate.objects.update_or_create(
        course=course, key=key, language=language,
        defaults={"subject": subject[:300], "body": body},
    )  # fmt: skip
    _audit(course, key, by, reset=False, language=language)
    return True


def _audit(course: Course, key: str, by: str, *, reset: bool, language: str = "") -> None:
    append_audit(
        actor=by,
        action="interventions.template_reset" if reset else "interventions.template_changed",
        deployment=course.deployment,
        data={"course": course.pk, "template": key, "language": language},
    )
