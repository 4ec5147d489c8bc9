"""The certificate settings form: parsing and validation only."""

from __future__ import annotations

import base64
from typing import Any, ClassVar

from django import forms

from certificates.models import CertificateSettings
from certificates.pdf import DEFAULT_TEMPLATE, TemplateInvalid, compile_template
from lti_tool.models import Course

LOGO_TYPES = {"image/png", "image/jpeg", "image/svg+xml", "image/gif", "image/webp"}
MAX_LOGO = 512 * 1024


class CertificateSettingsForm(forms.ModelForm[CertificateSettings]):
    signatory_lines = forms.CharField(
        label="Signature lines",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: name | role (for example: Dana Reyes | Head of Training).",
    )
    reminder_days_text = forms.CharField(
        label="Expiry reminders (days before)",
        required=False,
        initial="60, 30, 7",
        help_text="Comma-separated, sent through the learner's email channel.",
    )
    logo = forms.FileField(label="Logo (PNG, JPEG, SVG; 512 KB at most)", required=False)
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)

    class Meta:
        model = CertificateSettings
        fields = (
            "enabled",
            "title",
            "organisation",
            "hours",
            "page_size",
            "validity_months",
            "renewal_window_days",
            "renewal_course",
            "template_html",
        )
        labels: ClassVar[dict[str, str]] = {
            "enabled": "Issue certificates when learners complete this course",
            "title": "Certificate title (blank: the course title)",
            "hours": "Hours printed (blank: the learner's own time on task)",
            "validity_months": "Valid for (months; blank: never expires)",
            "renewal_window_days": "Renewal required this many days before expiry",
            "renewal_course": "Refresher course that renews it",
            "template_html": "Template (HTML; blank: the default template)",
        }
        widgets: ClassVar[dict[str, forms.Widget]] = {
            "template_html": forms.Textarea(attrs={"rows": 18, "spellcheck": "false"})
        }

    def __init__(self, *args: Any, course: Course, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.course = course
        field = self.fields["renewal_course"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Course.objects.filter(
            deployment=course.deployment, retired_at__isnull=True
        )
        self.fields["template_html"].help_text = (
            "Django template syntax; the fields are learner_name, title, course_title, "
            "organisation, issued_on, expires_on, hours, score, serial, verify_url, qr_data_uri, "
            "logo_data_uri, signatories and page_css_size. Images must be data: URLs."
        )
        if not self.instance.template_html:
            self.initial.setdefault("template_html", DEFAULT_TEMPLATE)
        self.initial["signatory_lines"] = "\n".join(
            f"{s.get('name', '')} | {s.get('role', '')}" for s in self.instance.signatories
        )
        if self.instance.reminder_days:
            self.initial["reminder_days_text"] = ", ".join(map(str, self.instance.reminder_days))

    def clean_template_html(self) -> str:
        source = str(self.cleaned_data.get("template_html") or "")
        if source.strip() == DEFAULT_TEMPLATE.strip():
            return ""  # keep following the default as it improves
        try:
            compile_template(source)
        except TemplateInvalid as exc:
            raise forms.ValidationError(f"The template does not compile: {exc}") from exc
        return source

    def clean_signatory_lines(self) -> list[dict[str, str]]:
        rows = []
        for line in str(self.cleaned_data.get("signatory_lines") or "").splitlines():
            if line.strip():
                name, _, role = line.partition("|")
                rows.append({"name": name.strip()[:100], "role": role.strip()[:100]})
        if len(rows) > 4:
            raise forms.ValidationError("At most four signature lines fit on a certificate.")
        return rows

    def clean_reminder_days_text(self) -> list[int]:
        text = str(self.cleaned_data.get("reminder_days_text") or "")
        try:
            days = sorted({int(p) for p in text.replace(";", ",").split(",") if p.strip()})
        except ValueError as exc:
            raise forms.ValidationError("Use whole numbers of days, e.g. 60, 30, 7.") from exc
        if any(d <= 0 or d > 730 for d in days):
            raise forms.ValidationError("Each reminder must be 1 to 730 days before expiry.")
        return days

    def clean_logo(self) -> str | None:
        file = self.cleaned_data.get("logo")
        if not file:
            return None
        if file.content_type not in LOGO_TYPES or file.size > MAX_LOGO:
            raise forms.ValidationError("Upload a PNG, JPEG, SVG, GIF or WebP of 512 KB at most.")
        return f"data:{file.content_type};base64,{base64.b64encode(file.read()).decode()}"

    def clean_renewal_course(self) -> Course | None:
        course = self.cleaned_data.get("renewal_course")
        if course is not None and course.pk == self.course.pk:
            raise forms.ValidationError(
                "Choose a separate refresher course; a course cannot renew itself."
            )
        return course

    def save(self, commit: bool = True) -> CertificateSettings:
        settings = super().save(commit=False)
        settings.course = self.course
        settings.signatories = self.cleaned_data["signatory_lines"]
        settings.reminder_days = self.cleaned_data["reminder_days_text"]
        if self.cleaned_data.get("remove_logo"):
            settings.logo_data_uri = ""
        elif self.cleaned_data.get("logo"):
            settings.logo_data_uri = self.cleaned_data["logo"]
        if commit:
            settings.save()
        return settings
