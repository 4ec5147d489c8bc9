"""Help that goes into the messages: per assessment, the resources and the practice item an
instructor sets (the difficulty playbook's messages carry them), the course's booking link for
a 1-on-1, and the kind of programme whose preset scales the playbooks. Audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction

from completion.models import Item
from interventions.models import AssessmentHelp, CourseSupport
from interventions.playbook_editor.services import SettingsRefused, language_tag
from lti_tool.audit.trail import append_audit
from lti_tool.models import Course
from lti_tool.outbound import AddressRefused, check_url


class SupportRefused(ValueError):
    """A link that cannot be used."""


@dataclass(frozen=True)
class HelpRow:
    item: Item
    resources: str
    practice_url: str


def help_rows(course: Course) -> list[HelpRow]:
    """Every assessment of the course with the help set for it."""
    found = {h.item_id: h for h in AssessmentHelp.objects.filter(course=course)}
    return [
        HelpRow(i, found[i.pk].resources if i.pk in found else "",
                found[i.pk].practice_url if i.pk in found else "")
        for i in Item.objects.filter(course=course, kind="assessment").order_by("position", "pk")
    ]  # fmt: skip


def support_of(course: Course) -> CourseSupport:
    """The course's booking link and programme (unsaved defaults when never set)."""
    return CourseSupport.objects.filter(course=course).first() or CourseSupport(course=course)


def _link(url: str) -> str:
    if url:
        try:
            check_url(url)
        except AddressRefused as exc:
            raise SupportRefused(f"{url}: {exc}") from exc
    return url


@transaction.atomic
def save_support(
    course: Course,
    *,
    booking_url: str,
    helps: Mapping[int, tuple[str, str]],
    by: str,
    program: str = CourseSupport.Program.COHORT,
    language: str = "",
) -> None:
    """Store the booking link, the programme preset, the language of the course's messages
    and, per assessment id, (resources, practice URL)."""
    if program not in CourseSupport.Program.values:
        raise SupportRefused("Choose a kind of programme.")
    try:
        language = language_tag(language)
    except SettingsRefused as exc:
        raise SupportRefused(str(exc)) from exc
    CourseSupport.objects.update_or_create(
        course=course,
        defaults={"booking_url": _link(booking_url.strip()), "program": program,
                  "language": language},
    )  # fmt: skip
    assessments = {i.pk: i for i in Item.objects.filter(course=course, kind="assessment")}
    for item_id, (resources, practice) in helps.items():
        item = assessments.get(item_id)
        if item is None:
            raise SupportRefused("That assessment is not in this course.")
        AssessmentHelp.objects.update_or_create(
            item=item,
            defaults={"course": course, "resources": resources.strip()[:5000],
                      "practice_url": _link(practice.strip())},
        )  # fmt: skip
    append_audit(actor=by, action="interventions.support_changed", deployment=course.deployment,
                 data={"course": course.pk, "booking_url": booking_url, "program": program,
                       "language": language,
                       "assessments": sorted(helps)})  # fmt: skip
