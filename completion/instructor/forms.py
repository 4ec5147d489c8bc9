"""Forms of the instructor pages: completion criteria and status overrides.

Forms only parse and check shapes; `risk_services.update_criteria` validates meaning and saves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from django import forms

from completion.models import CompletionCriteria
from completion.progress import criteria as crit


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class CriteriaForm(forms.Form):
    required_items = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every content item and assessment is required.",
    )
    min_content_share = forms.IntegerField(
        min_value=0, max_value=100, initial=80, label="Minimum share of content consumed (%)"
    )
    min_overall_score = forms.IntegerField(
        min_value=0, max_value=100, required=False, label="Minimum overall score (%)"
    )
    required_submissions = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple
    )
    min_time_minutes = forms.IntegerField(
        min_value=0, initial=0, label="Minimum time on task (minutes)"
    )
    due_on = forms.DateField(
        required=False, label="Due date", widget=forms.DateInput(attrs={"type": "date"})
    )
    due_days_after_enrolment = forms.IntegerField(
        min_value=1, required=False, label="Or due this many days after enrolment"
    )
    item_prerequisites = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Item prerequisites",
        help_text="One per line: item id: prerequisite ids, …",
    )
    prerequisite_courses = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Courses to complete first (learning path)",
    )
    timeline = forms.ChoiceField(choices=CompletionCriteria.Timeline.choices)
    starts_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    duration_days = forms.IntegerField(
        min_value=1, initial=20, label="Length in working days (relative timeline)"
    )
    skip_weekends = forms.BooleanField(required=False, initial=True)
    blackout_dates = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One date per line, YYYY-MM-DD.",
    )
    anchors = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Fixed anchor dates",
        help_text="One per line: YYYY-MM-DD percent label, e.g. 2026-03-10 50 Live workshop",
    )
    risk_model = forms.ChoiceField(choices=CompletionCriteria.RiskModel.choices)
    rule_settings = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Risk rule settings",
        help_text=(
            "Advanced, as JSON: a threshold per signal and the chance of finishing below "
            "which a learner needs attention (docs/risk.md names them). Empty: the defaults."
        ),
    )

    def __init__(
        self,
        *args: Any,
        items: Sequence[tuple[int, str, str]],
        courses: Sequence[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(i), f"{title} ({kind})") for i, kind, title in items]
        self.fields["required_items"].choices = choices  # type: ignore[attr-defined]
        self.fields["required_submissions"].choices = choices  # type: ignore[attr-defined]
        self.fields["prerequisite_courses"].choices = [  # type: ignore[attr-defined]
            (str(i), t) for i, t in courses
        ]
        for status in crit.STATUSES:
            self.fields[f"label_{status}"] = forms.CharField(
                max_length=100, required=False, label=f"Label for “{crit.DEFAULT_LABELS[status]}”"
            )
        self.assessments = [(i, title) for i, kind, title in items if kind == "assessment"]
        for i, title in self.assessments:
            self.fields[f"min_score_{i}"] = forms.IntegerField(
                min_value=0, max_value=100, required=False, label=f"Minimum score on {title} (%)"
            )

    @staticmethod
    def initial_from(row: CompletionCriteria) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "required_items": [str(i) for i in row.required_item_ids or []],
            "min_content_share": round(100 * row.min_content_share),
            "min_overall_score": None
            if row.min_overall_score is None
            else round(100 * row.min_overall_score),
            "required_submissions": [str(i) for i in row.required_submission_ids or []],
            "min_time_minutes": row.min_time_minutes,
            "due_on": row.due_on,
            "due_days_after_enrolment": row.due_days_after_enrolment,
            "item_prerequisites": "\n".join(
                f"{k}: {', '.join(map(str, v))}" for k, v in (row.item_prerequisites or {}).items()
            ),
            "prerequisite_courses": [str(i) for i in row.prerequisite_course_ids or []],
            "timeline": row.timeline,
            "starts_on": row.starts_on,
            "ends_on": row.ends_on,
            "duration_days": row.duration_days,
            "skip_weekends": row.skip_weekends,
            "blackout_dates": "\n".join(row.blackout_dates or []),
            "anchors": "\n".join(
                f"{a['on']} {round(100 * float(a['share']))} {a.get('label', '')}".strip()
                for a in row.anchors or []
            ),
            "risk_model": row.risk_model,
            "rule_settings": json.dumps(row.rule_settings, indent=1) if row.rule_settings else "",
        }
        for status, label in (row.status_labels or {}).items():
            initial[f"label_{status}"] = label
        for key, value in (row.min_item_scores or {}).items():
            initial[f"min_score_{key}"] = round(100 * float(value))
        return initial

    def clean_item_prerequisites(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for line in _lines(self.cleaned_data["item_prerequisites"]):
            item, _, needs = line.partition(":")
            try:
                found[str(int(item))] = [int(n) for n in needs.replace(",", " ").split()]
            except ValueError as exc:
                raise forms.ValidationError(f"not “item: ids”: {line}") from exc
        return found

    def clean_blackout_dates(self) -> list[str]:
        try:
            return sorted(
                {
                    date.fromisoformat(d).isoformat()
                    for d in _lines(self.cleaned_data["blackout_dates"])
                }
            )
        except ValueError as exc:
            raise forms.ValidationError("each line must be a date, YYYY-MM-DD") from exc

    def clean_anchors(self) -> list[dict[str, Any]]:
        anchors = []
        for line in _lines(self.cleaned_data["anchors"]):
            parts = line.split(maxsplit=2)
            try:
                on, share = date.fromisoformat(parts[0]), float(parts[1]) / 100
            except (IndexError, ValueError) as exc:
                raise forms.ValidationError(f"not “date percent label”: {line}") from exc
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
            raise forms.ValidationError(f"not valid JSON: {exc.msg}") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("must be a JSON object")
        return value

    def values(self) -> dict[str, Any]:
        """The cleaned data in `update_criteria`'s terms."""
        c = self.cleaned_data
        return {
            "required_item_ids": [int(i) for i in c["required_items"]],
            "min_content_share": c["min_content_share"] / 100,
            "min_overall_score": None
            if c["min_overall_score"] is None
            else c["min_overall_score"] / 100,
            "min_item_scores": {
                str(i): c[f"min_score_{i}"] / 100
                for i, _ in self.assessments
                if c.get(f"min_score_{i}") is not None
            },
            "required_submission_ids": [int(i) for i in c["required_submissions"]],
            "min_time_minutes": c["min_time_minutes"],
            "due_on": c["due_on"],
            "due_days_after_enrolment": c["due_days_after_enrolment"],
            "item_prerequisites": c["item_prerequisites"],
            "prerequisite_course_ids": [int(i) for i in c["prerequisite_courses"]],
            "status_labels": {
                s: c[f"label_{s}"].strip() for s in crit.STATUSES if c.get(f"label_{s}", "").strip()
            },
            "timeline": c["timeline"],
            "starts_on": c["starts_on"],
            "ends_on": c["ends_on"],
            "duration_days": c["duration_days"],
            "skip_weekends": c["skip_weekends"],
            "blackout_dates": c["blackout_dates"],
            "anchors": c["anchors"],
            "risk_model": c["risk_model"],
            "rule_settings": c["rule_settings"],
        }


class OverrideForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Clear the override"), *[(s, crit.DEFAULT_LABELS[s]) for s in crit.STATUSES]],
        required=False,
    )
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
