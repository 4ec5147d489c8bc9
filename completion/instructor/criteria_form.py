"""The form of the criteria editor: one row per item, course-level thresholds, prerequisite pairs,
and a field per warning signal's threshold (`threshold_fields`).

It only parses shapes (numbers, dates, pairs filled on both sides) and turns the criteria into
`update_criteria`'s terms and back; whether they make sense is `progress.criteria_check`'s
call, whose problems `show` puts next to the field each is about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms

from completion.instructor import threshold_fields
from completion.models import CompletionCriteria
from completion.progress import criteria as crit
from completion.progress.criteria_check import Problem
from completion.risk.selectors import CriteriaItem

# Statuses a course may word its own way: the computed ones, then the compliance lifecycle
# ("Overdue" appears in both and is one label).
LABELLED = {**crit.DEFAULT_LABELS, **crit.LIFECYCLE_LABELS}
BLANK_PAIRS = 2  # empty prerequisite rows offered under the saved ones
PERCENT = {"min": 0, "max": 100, "step": 1, "inputmode": "numeric", "class": "num"}
DATE = {"type": "date"}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _percent(value: float | None) -> int | None:
    return None if value is None else round(100 * float(value))


def matches(item: CriteriaItem, query: str) -> bool:
    """Whether every word of the search is in the item's title, type or section."""
    text = f"{item.title} {item.kind_label} {item.section}".lower()
    return all(word in text for word in query.lower().split())


@dataclass(frozen=True)
class ItemRow:
    """One row of the item picker: the item, whether the search shows it, and its fields."""

    item: CriteriaItem
    shown: bool
    required: forms.BoundField
    submission: forms.BoundField | None
    pass_mark: forms.BoundField | None
    due: forms.BoundField


@dataclass(frozen=True)
class PairRow:
    number: int
    item: forms.BoundField
    needs: forms.BoundField
    remove: forms.BoundField | None


def pairs_of(row: CompletionCriteria) -> list[tuple[int, int]]:
    return sorted(
        (int(item), int(need))
        for item, needs in (row.item_prerequisites or {}).items()
        for need in needs
    )


class CriteriaForm(forms.Form):
    min_overall_score = forms.IntegerField(
        required=False,
        label="Overall score to pass",
        help_text="The mean of a learner's best scores, 0 to 100. Empty: no overall minimum.",
        widget=forms.NumberInput(attrs=PERCENT),
    )
    min_content_share = forms.IntegerField(
        label="Content to open",
        help_text="Share of the course's pages, videos and modules a learner must open, 0 to 100.",
        widget=forms.NumberInput(attrs=PERCENT),
    )
    min_time_minutes = forms.IntegerField(
        label="Time on task",
        help_text="Minutes spent in the course's items, in all. 0: no minimum.",
        widget=forms.NumberInput(attrs={"min": 0, "step": 1, "class": "num"}),
    )
    due_on = forms.DateField(
        required=False,
        label="Course deadline",
        help_text="The day by which every learner must finish. Empty: no fixed deadline.",
        widget=forms.DateInput(attrs=DATE),
    )
    due_days_after_enrolment = forms.IntegerField(
        required=False,
        label="Or due after enrolment",
        help_text="Days after each learner enrols; the earlier of the two deadlines counts.",
        widget=forms.NumberInput(attrs={"min": 1, "step": 1, "class": "num"}),
    )
    reminder_days = forms.CharField(
        required=False,
        label="Deadline reminders",
        help_text="Days before the deadline, separated by commas. Empty: 30, 14, 3. "
        "The last one goes to the learner's manager too.",
    )
    prerequisite_courses = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Courses to finish before this one",
        help_text="Learners stay locked out of this course until they finish these.",
    )
    timeline = forms.ChoiceField(
        choices=CompletionCriteria.Timeline.choices, label="Expected pace follows"
    )
    starts_on = forms.DateField(
        required=False, label="Course starts", widget=forms.DateInput(attrs=DATE)
    )
    ends_on = forms.DateField(
        required=False, label="Course ends", widget=forms.DateInput(attrs=DATE)
    )
    duration_days = forms.IntegerField(
        label="Length",
        help_text="Working days, for a timeline relative to enrolment.",
        widget=forms.NumberInput(attrs={"min": 1, "step": 1, "class": "num"}),
    )
    skip_weekends = forms.BooleanField(required=False, label="Weekends do not count")
    blackout_dates = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Days off",
        help_text="One date per line, as 2026-12-25.",
    )
    anchors = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Fixed milestones",
        help_text="One per line: date, percent done by then, name. "
        "For example: 2026-03-10 50 Live workshop",
    )
    risk_model = forms.ChoiceField(
        choices=CompletionCriteria.RiskModel.choices, label="Risk is judged by"
    )
    rule_settings = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Signal weights and risk cut-offs",
        help_text="For specialists, as JSON: a weight per signal and the cut-offs between risk "
        "levels (the documentation names them). Thresholds are set in their own fields. "
        "Empty: the defaults.",
    )
    pair_rows = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        items: Sequence[CriteriaItem],
        courses: Sequence[tuple[int, str]],
        pairs: int,
        saved_thresholds: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.items = list(items)
        self.saved_thresholds = dict(saved_thresholds or {})
        self.pair_count = self._pair_count(pairs)
        self.fields["pair_rows"].initial = self.pair_count
        self.fields["prerequisite_courses"].choices = [  # type: ignore[attr-defined]
            (str(i), t) for i, t in courses
        ]
        threshold_fields.add_fields(self)
        for status, default in LABELLED.items():
            self.fields[f"label_{status}"] = forms.CharField(
                max_length=100, required=False, label=f"Instead of “{default}”"
            )
        choices = [("", "Choose an item"), *[(str(i.id), i.title) for i in self.items]]
        for i in self.items:
            self._item_fields(i)
        for n in range(self.pair_count):
            self._pair_fields(n, choices)

    def _pair_count(self, saved: int) -> int:
        if not self.is_bound:
            return saved + BLANK_PAIRS
        try:
            return max(0, min(int(self.data.get("pair_rows") or 0), 500))
        except ValueError:
            return saved + BLANK_PAIRS

    def _item_fields(self, i: CriteriaItem) -> None:
        self.fields[f"required_{i.id}"] = forms.BooleanField(
            required=False, label=f"{i.title} is required"
        )
        if i.kind == "assessment":
            self.fields[f"submission_{i.id}"] = forms.BooleanField(
                required=False, label=f"{i.title} must be submitted"
            )
            self.fields[f"pass_mark_{i.id}"] = forms.IntegerField(
                required=False,
                label=f"Pass mark of {i.title}, percent",
                widget=forms.NumberInput(attrs=PERCENT),
            )
        self.fields[f"due_{i.id}"] = forms.DateField(
            required=False, label=f"Due date of {i.title}", widget=forms.DateInput(attrs=DATE)
        )

    def _pair_fields(self, n: int, choices: list[tuple[str, str]]) -> None:
        invalid = {"invalid_choice": "Choose an item of this course."}
        self.fields[f"pair_{n}_item"] = forms.ChoiceField(
            required=False, choices=choices, label=f"Pair {n + 1}: item", error_messages=invalid
        )
        # The visible label is "requires"; the name says which pair (the label is in the name).
        self.fields[f"pair_{n}_needs"] = forms.ChoiceField(
            required=False,
            choices=choices,
            label="requires",
            error_messages=invalid,
            widget=forms.Select(attrs={"aria-label": f"Pair {n + 1}: requires"}),
        )
        self.fields[f"pair_{n}_remove"] = forms.BooleanField(
            required=False,
            label="Remove",
            widget=forms.CheckboxInput(attrs={"aria-label": f"Remove pair {n + 1}"}),
        )

    @staticmethod
    def initial_from(row: CompletionCriteria) -> dict[str, Any]:
        saved = row.rule_settings or {}
        others = {k: v for k, v in saved.items() if k != "thresholds"}
        initial: dict[str, Any] = {
            "min_content_share": _percent(row.min_content_share),
            "min_overall_score": _percent(row.min_overall_score),
            "min_time_minutes": row.min_time_minutes,
            "due_on": row.due_on,
            "due_days_after_enrolment": row.due_days_after_enrolment,
            "prerequisite_courses": [str(i) for i in row.prerequisite_course_ids or []],
            "timeline": row.timeline,
            "starts_on": row.starts_on,
            "ends_on": row.ends_on,
            "duration_days": row.duration_days,
            "reminder_days": ", ".join(map(str, row.reminder_days or [])),
            "skip_weekends": row.skip_weekends,
            "blackout_dates": "\n".join(row.blackout_dates or []),
            "anchors": "\n".join(
                f"{a['on']} {round(100 * float(a['share']))} {a.get('label', '')}".strip()
                for a in row.anchors or []
            ),
            "risk_model": row.risk_model,
            "rule_settings": json.dumps(others, indent=1) if others else "",
            **threshold_fields.initial(saved.get("thresholds") or {}),
        }
        for status, label in (row.status_labels or {}).items():
            initial[f"label_{status}"] = label
        for i in row.required_item_ids or []:
            initial[f"required_{i}"] = True
        for i in row.required_submission_ids or []:
            initial[f"submission_{i}"] = True
        for key, value in (row.min_item_scores or {}).items():
            initial[f"pass_mark_{key}"] = _percent(value)
        for key, value in (row.item_due_dates or {}).items():
            initial[f"due_{key}"] = date.fromisoformat(str(value))
        for n, (item, need) in enumerate(pairs_of(row)):
            initial[f"pair_{n}_item"], initial[f"pair_{n}_needs"] = str(item), str(need)
        return initial

    # --- what the template draws -------------------------------------------------------------

    def item_rows(self, query: str) -> list[ItemRow]:
        def bound(name: str) -> forms.BoundField | None:
            return self[name] if name in self.fields else None

        return [
            ItemRow(
                item=i,
                shown=matches(i, query),
                required=self[f"required_{i.id}"],
                submission=bound(f"submission_{i.id}"),
                pass_mark=bound(f"pass_mark_{i.id}"),
                due=self[f"due_{i.id}"],
            )
            for i in self.items
        ]

    def pair_rows_shown(self) -> list[PairRow]:
        return [
            PairRow(n, self[f"pair_{n}_item"], self[f"pair_{n}_needs"], self[f"pair_{n}_remove"])
            for n in range(self.pair_count)
        ]

    def threshold_fields(self) -> list[tuple[forms.BoundField, str]]:
        return threshold_fields.bound(self)

    def label_fields(self) -> list[forms.BoundField]:
        return [self[f"label_{s}"] for s in LABELLED]

    # --- parsing --------------------------------------------------------------------------------

    def clean_reminder_days(self) -> list[int]:
        text = str(self.cleaned_data.get("reminder_days") or "")
        try:
            return sorted({int(d) for d in text.replace(" ", "").split(",") if d}, reverse=True)
        except ValueError as exc:
            raise forms.ValidationError("Write whole numbers of days, e.g. 30, 14, 3.") from exc

    def clean_blackout_dates(self) -> list[str]:
        try:
            return sorted(
                {
                    date.fromisoformat(d).isoformat()
                    for d in _lines(self.cleaned_data["blackout_dates"])
                }
            )
        except ValueError as exc:
            raise forms.ValidationError("Write each day off as a date, like 2026-12-25.") from exc

    def clean_anchors(self) -> list[dict[str, Any]]:
        anchors = []
        for line in _lines(self.cleaned_data["anchors"]):
            parts = line.split(maxsplit=2)
            try:
                on, share = date.fromisoformat(parts[0]), float(parts[1]) / 100
            except (IndexError, ValueError) as exc:
                raise forms.ValidationError(
                    f"Write “date percent name”, like 2026-03-10 50 Workshop, not: {line}"
                ) from exc
            anchors.append(
                {"on": on.isoformat(), "share": share, "label": parts[2] if len(parts) > 2 else ""}
            )
        return anchors

    def clean_rule_settings(self) -> dict[str, Any]:
        text = self.cleaned_data["rule_settings"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"This is not valid JSON: {exc.msg}.") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Write a JSON object, between { and }.")
        if "thresholds" in value:
            raise forms.ValidationError("Set thresholds in their own fields, not here.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for n in range(self.pair_count):
            item, needs = cleaned.get(f"pair_{n}_item"), cleaned.get(f"pair_{n}_needs")
            if bool(item) != bool(needs) and not cleaned.get(f"pair_{n}_remove"):
                self.add_error(
                    f"pair_{n}_item" if not item else f"pair_{n}_needs",
                    "Choose both items of the pair, or neither.",
                )
        return cleaned

    def prerequisites(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        c = self.cleaned_data
        for n in range(self.pair_count):
            item, needs = c.get(f"pair_{n}_item"), c.get(f"pair_{n}_needs")
            if item and needs and not c.get(f"pair_{n}_remove"):
                found.setdefault(item, [])
                if int(needs) not in found[item]:
                    found[item].append(int(needs))
        return {k: sorted(v) for k, v in sorted(found.items(), key=lambda kv: int(kv[0]))}

    def values(self) -> dict[str, Any]:
        """The cleaned data in `update_criteria`'s terms."""
        c = self.cleaned_data
        ids = [i.id for i in self.items]
        return {
            "required_item_ids": [i for i in ids if c.get(f"required_{i}")],
            "required_submission_ids": [i for i in ids if c.get(f"submission_{i}")],
            "min_item_scores": {
                str(i): c[f"pass_mark_{i}"] / 100
                for i in ids
                if c.get(f"pass_mark_{i}") is not None
            },
            "item_due_dates": {
                str(i): c[f"due_{i}"].isoformat() for i in ids if c.get(f"due_{i}") is not None
            },
            "item_prerequisites": self.prerequisites(),
            "min_content_share": c["min_content_share"] / 100,
            "min_overall_score": None
            if c["min_overall_score"] is None
            else c["min_overall_score"] / 100,
            "min_time_minutes": c["min_time_minutes"],
            "due_on": c["due_on"],
            "due_days_after_enrolment": c["due_days_after_enrolment"],
            "reminder_days": c["reminder_days"],
            "prerequisite_course_ids": [int(i) for i in c["prerequisite_courses"]],
            "status_labels": {
                s: c[f"label_{s}"].strip() for s in LABELLED if c.get(f"label_{s}", "").strip()
            },
            "timeline": c["timeline"],
            "starts_on": c["starts_on"],
            "ends_on": c["ends_on"],
            "duration_days": c["duration_days"],
            "skip_weekends": c["skip_weekends"],
            "blackout_dates": c["blackout_dates"],
            "anchors": c["anchors"],
            "risk_model": c["risk_model"],
            "rule_settings": self._rule_settings(),
        }

    def _rule_settings(self) -> dict[str, Any]:
        """The JSON box's settings with the threshold fields' values (the stored shape)."""
        thresholds = threshold_fields.cleaned(self.cleaned_data, self.saved_thresholds)
        others = self.cleaned_data["rule_settings"]
        return {**others, "thresholds": thresholds} if thresholds else others

    def show(self, problems: Sequence[Problem]) -> None:
        """Put each problem next to the field it is about (the page's top, when none fits)."""
        for p in problems:
            name = _field_for(p)
            if name and name in self.fields:
                self.add_error(name, p.message)
            elif p.field == "item_prerequisites":
                self.prerequisite_problems.append(p.message)
            else:
                self.add_error(None, p.message)

    @property
    def prerequisite_problems(self) -> list[str]:
        if not hasattr(self, "_prerequisite_problems"):
            self._prerequisite_problems: list[str] = []
        return self._prerequisite_problems


PER_ITEM = {
    "required_item_ids": "required",
    "required_submission_ids": "submission",
    "min_item_scores": "pass_mark",
    "item_due_dates": "due",
}
RENAMED = {"prerequisite_course_ids": "prerequisite_courses"}


def _field_for(p: Problem) -> str:
    if p.field in PER_ITEM and p.item is not None:
        return f"{PER_ITEM[p.field]}_{p.item}"
    return RENAMED.get(p.field, p.field)
