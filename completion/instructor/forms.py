"""Forms of the instructor pages: status overrides (the criteria editor's is `criteria_form`).

Forms only parse and check shapes; the services validate meaning and save.
"""

from __future__ import annotations

from django import forms

from completion.progress import criteria as crit


class OverrideForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Clear the override"), *[(s, crit.DEFAULT_LABELS[s]) for s in crit.STATUSES]],
        required=False,
    )
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
