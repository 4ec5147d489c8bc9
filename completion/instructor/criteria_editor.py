"""What the criteria editor page shows: the form filled from the saved criteria, and the saved
prerequisite path as steps and as a drawing. Reads through `risk.selectors`; saving is
`risk.services.update_criteria`, which judges the criteria with `progress.criteria_check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from completion.instructor import path_drawing
from completion.instructor.criteria_form import CriteriaForm, pairs_of
from completion.models import CompletionCriteria
from completion.progress.criteria_check import Step, path_of
from completion.risk import selectors as sel
from lti_tool.models import Course


@dataclass(frozen=True)
class Path:
    """The saved prerequisites: courses to finish first, steps of items, and their drawing."""

    courses: tuple[str, ...]
    steps: tuple[Step, ...]
    titles: Mapping[int, str]
    drawing: path_drawing.Drawing | None

    def step_lines(self) -> list[tuple[int, list[tuple[str, list[str]]]]]:
        """Each step's number and its items, each with the titles of what it requires."""
        return [
            (
                s.number,
                [
                    (self.titles.get(i, f"Item {i}"), [self.titles.get(n, f"Item {n}")
                                                       for n in s.needs.get(i, ())])
                    for i in s.items
                ],
            )
            for s in self.steps
        ]  # fmt: skip


def editor_form(
    course: Course, data: Any = None, *, can_edit: bool = True
) -> tuple[CriteriaForm, CompletionCriteria]:
    """The form filled from the saved criteria (read-only for those who may not change them)."""
    row = sel.criteria_row(course)
    catalogue = sel.catalogue_of(course)
    form = CriteriaForm(
        data,
        initial=CriteriaForm.initial_from(row),
        items=sel.criteria_items(course),
        courses=sorted(catalogue.courses.items(), key=lambda c: c[1]),
        pairs=len(pairs_of(row)),
        saved_thresholds=(row.rule_settings or {}).get("thresholds") or {},
    )
    for field in form.fields.values():
        field.disabled = not can_edit
    return form, row


def path_for(form: CriteriaForm, row: CompletionCriteria) -> Path:
    titles = {i.id: i.title for i in form.items}
    prerequisites = {int(k): [int(n) for n in v] for k, v in (row.item_prerequisites or {}).items()}
    steps = path_of(prerequisites, [i.id for i in form.items])
    names = dict(form.fields["prerequisite_courses"].choices)  # type: ignore[attr-defined]
    saved = row.prerequisite_course_ids or []
    courses = tuple(str(names.get(str(c), f"Course {c}")) for c in saved)
    return Path(courses, steps, titles, path_drawing.draw(steps, titles, courses))
