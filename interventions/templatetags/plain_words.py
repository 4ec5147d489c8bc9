"""Template filters that show stored codes as words: signals, reasons, steps and who acted.

The code stays available to the template for a tooltip (`title="{{ code }}"`) or an export.
"""

from __future__ import annotations

from django import template

from completion import wording
from interventions.planning import playbooks
from lti_tool.models import Person

register = template.Library()


@register.filter
def signal_words(code: str) -> str:
    return wording.signal(str(code))


@register.filter
def step_words(key: str) -> str:
    """A playbook step as "Absence: final notice"."""
    found = playbooks.find_step(playbooks.DEFAULT_PLAYBOOKS, str(key))
    if found is None:
        return str(key).replace("_", " ").capitalize()
    book, step = found
    return f"{book.name}: {step.template.replace('_', ' ')}"


@register.filter
def reason_words(reason: str) -> str:
    """An outbox or intervention reason (`playbook:absent_21`, `manual`, ...) in words."""
    kind, _, rest = str(reason).partition(":")
    if kind == "playbook" and rest:
        return step_words(rest)
    if kind in ("manual", "staff", "person"):
        return "Sent by staff"
    return str(reason).replace("_", " ").replace(":", ": ").capitalize()


@register.filter
def actor_words(by: str) -> str:
    """Who did something: a person's name for `person:N`, else plain words."""
    kind, _, ident = str(by).partition(":")
    if kind in ("person", "learner", "staff") and ident.isdigit():
        person = Person.objects.filter(pk=int(ident)).only("name", "sub").first()
        if person is not None and person.name:
            return person.name
    return wording.actor(str(by))


@register.filter
def words(code: str) -> str:
    """Any snake_case name as words: `welcome_reminder` -> "Welcome reminder"."""
    return str(code).replace("_", " ").capitalize()
