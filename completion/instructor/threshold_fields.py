"""The criteria editor's warning-signal thresholds: one number field per signal, shown in the
unit a person thinks in (hours, percent of the course, standard deviations below the group)
and stored as scoring reads them (`RulesConfig.thresholds`: hours, shares 0..1, z-scores).

It only converts and words; the allowed ranges are `progress.criteria_check`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms

from completion import wording
from completion.progress.criteria_check import WHOLE_THRESHOLDS
from completion.risk import signals as s


@dataclass(frozen=True)
class Threshold:
    unit: str
    help: str
    per_stored: float = 1.0  # shown = stored * per_stored (100 for shares, -1 for z-scores)
    step: str = "1"


PERCENT, BELOW = 100.0, -1.0
THRESHOLDS: Mapping[str, Threshold] = {
    s.NOT_STARTED: Threshold(
        "hours", "Fires when a learner has started nothing this long after enrolling (or after "
        "the course starts, for those who enrolled early)."),
    s.MISSED_2: Threshold(
        "visits", "Fires when a learner has missed this many of their usual visits in a row."),
    s.MISSED_4: Threshold(
        "visits", "A stronger warning on top of the one above: more missed visits."),
    s.BEHIND_20: Threshold(
        "% of the course", "Fires when a learner's progress is this far behind where the "
        "expected pace puts them.", PERCENT),
    s.BEHIND_40: Threshold(
        "% of the course", "A stronger warning on top of the one above: further behind.",
        PERCENT),
    s.FAILED_TWICE: Threshold(
        "failures", "Fires when a learner has failed one assessment this many times and not "
        "passed it since."),
    s.MANY_ATTEMPTS: Threshold(
        "attempts", "Fires when a learner has made this many attempts at one assessment."),
    s.BELOW_MIN_TIME: Threshold(
        "% of the minimum", "Fires when a learner's time on task is under this share of the "
        "course's minimum time, in proportion to how far they have got.", PERCENT),
    s.SCORE_BELOW_COHORT: Threshold(
        "standard deviations below", "Fires when a learner's average score is this far below "
        "the group's average.", BELOW, "0.1"),
    s.LOW_CONTENT_TIME: Threshold(
        "% of the expected time", "Fires when a learner's time on the course material is under "
        "this share of what is expected by now.", PERCENT),
    s.NO_FORUM: Threshold(
        "days after enrolling", "Fires when a learner has not posted in the course forum by "
        "this day (courses with a forum only)."),
    s.ERRORS: Threshold(
        "errors in 7 days", "Fires when a learner runs into this many technical errors in a "
        "week."),
    s.LOW_ENGAGEMENT_WEEK1: Threshold(
        "percentile", "In a learner's first week: fires when their activity is in this bottom "
        "share of the group (30: the least active 30%)."),
    s.LOW_ENGAGEMENT: Threshold(
        "percentile", "After the first week: fires when a learner's activity is in this bottom "
        "share of the group."),
    s.DECLINING: Threshold(
        "% of the days before", "Fires when a learner's activity over the last few days is at "
        "most this share of their activity over the few days before.", PERCENT),
    s.PEER_DEVIATION: Threshold(
        "standard deviations below", "Fires when a learner's progress is this far below that "
        "of peers who enrolled at the same time.", BELOW, "0.1"),
    s.LOW_ACTIVITY: Threshold(
        "percentile", "Fires when a learner's activity so far is in this bottom share of the "
        "learners at the same week of the course (20: the least active 20%)."),
}  # fmt: skip


def name(code: str) -> str:
    return f"threshold_{code}"


def shown(code: str, stored: float) -> float | int:
    value = round(float(stored) * THRESHOLDS[code].per_stored, 6)
    return int(value) if value.is_integer() else value


def stored(code: str, value: float) -> float:
    if code in WHOLE_THRESHOLDS:
        return int(value)
    return round(value / THRESHOLDS[code].per_stored, 8)


def add_fields(form: forms.Form) -> None:
    """One optional number field per signal (whole numbers for counts and days); blank keeps
    the default."""
    for code, t in THRESHOLDS.items():
        default = shown(code, s.DEFAULTS[code])
        field = forms.IntegerField if code in WHOLE_THRESHOLDS else forms.FloatField
        form.fields[name(code)] = field(
            required=False,
            label=wording.signal(code),
            help_text=f"{t.help} Empty: {default} {t.unit} (the default).",
            widget=forms.NumberInput(
                attrs={"step": t.step, "class": "num", "placeholder": str(default)}
            ),
        )


def initial(saved: Mapping[str, Any]) -> dict[str, float | int]:
    """The fields' values from the saved `rule_settings["thresholds"]`."""
    return {name(code): shown(code, v) for code, v in saved.items() if code in THRESHOLDS}


def cleaned(data: Mapping[str, Any], saved: Mapping[str, Any]) -> dict[str, float]:
    """The thresholds to store, in scoring's units: the filled fields, and every saved one the
    form has no field for (set through the API or by a later signal), kept as it was."""
    kept = {code: v for code, v in saved.items() if code not in THRESHOLDS}
    filled = {
        code: stored(code, data[name(code)])
        for code in THRESHOLDS
        if data.get(name(code)) is not None
    }
    return {**kept, **filled}


def bound(form: forms.Form) -> list[tuple[forms.BoundField, str]]:
    """Each field with its unit, for the template."""
    return [(form[name(code)], t.unit) for code, t in THRESHOLDS.items()]
