"""Django admin for engagement data: sync health with sync-now, credentials, imports."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django_q.tasks import async_task

from completion.ingest.files import history
from completion.ingest.files.imports import import_file
from completion.ingest.files.records import import_records
from completion.models import CourseSync, ImportBatch
from lti_tool.keys import credentials
from lti_tool.models import Deployment, ServiceCredential


@admin.register(CourseSync)
class CourseSyncAdmin(admin.ModelAdmin[CourseSync]):
    """Sync health per course: last run, counts and last error; run a sync now."""

    list_display = ("course", "kind", "last_started_at", "last_success_at", "counts", "last_error")
    list_filter = ("kind",)
    readonly_fields = (
        "course",
        "kind",
        "last_started_at",
        "last_success_at",
        "last_error",
        "last_error_at",
        "counts",
        "differences_url",
    )
    actions = ("sync_now",)

    @admin.action(description="Sync the selected courses now (in the background)")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[CourseSync]) -> None:
        for sync in queryset:
            task = (
                "completion.ingest.lms.tasks.roster"
                if sync.kind == CourseSync.Kind.ROSTER
                else "completion.ingest.lms.tasks.grades"
            )
            async_task(task, sync.course_id)
        self.message_user(request, f"{queryset.count()} sync(s) queued.", messages.SUCCESS)


class IssueCredentialForm(forms.Form):
    deployment = forms.ModelChoiceField(queryset=Deployment.objects.select_related("platform"))
    kind = forms.ChoiceField(choices=ServiceCredential.Kind.choices)
    name = forms.CharField(max_length=200)


@admin.register(ServiceCredential)
class ServiceCredentialAdmin(admin.ModelAdmin[ServiceCredential]):
    """xAPI, Caliper and API credentials: issued here (the secret is shown once), revoked here."""

    list_display = ("name", "kind", "key", "deployment", "created_at", "revoked_at")
    list_filter = ("kind",)
    readonly_fields = ("key", "secret_hash", "created_at", "revoked_at")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issued through the form below, which shows the secret once

    def get_urls(self) -> list[URLPattern]:
        return [
            path("issue/", self.admin_site.admin_view(self.issue), name="issue_credential"),
            *super().get_urls(),
        ]

    def issue(self, request: HttpRequest) -> HttpResponse:
        form = IssueCredentialForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            issued = credentials.issue_credential(
                deployment=form.cleaned_data["deployment"],
                kind=form.cleaned_data["kind"],
                name=form.cleaned_data["name"],
                actor=f"django-admin:{request.user}",
            )
            return render(
                request,
                "admin/completion/credential_issued.html",
                {
                    "issued": issued,
                    "title": "Credential issued",
                    **self.admin_site.each_context(request),
                },
            )
        return render(
            request,
            "admin/completion/form.html",
            {"form": form, "title": "Issue a credential", **self.admin_site.each_context(request)},
        )

    @admin.action(description="Revoke the selected credentials")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ServiceCredential]) -> None:
        for credential in queryset.filter(revoked_at__isnull=True):
            credentials.revoke_credential(
                credential=credential, actor=f"django-admin:{request.user}"
            )


class ImportForm(forms.Form):
    deployment = forms.ModelChoiceField(queryset=Deployment.objects.select_related("platform"))
    kind = forms.ChoiceField(
        choices=[
            ("events", "Events"),
            (history.PEOPLE, "People and enrolments"),
            (history.ITEMS, "Items"),
            (history.OUTCOMES, "Final outcomes"),
        ],
        initial="events",
        required=False,
        help_text="What the file holds (docs/data-inputs.md lists each kind's columns)",
    )
    file = forms.FileField(help_text="CSV or JSON Lines with the documented columns")


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin[ImportBatch]):
    """Imports and their reports; upload a file to import (all rows or none)."""

    list_display = (
        "filename",
        "deployment",
        "status",
        "rows_total",
        "rows_stored",
        "rows_duplicate",
        "rows_pending",
        "created_at",
    )
    list_filter = ("status",)
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        return [
            path("upload/", self.admin_site.admin_view(self.upload), name="import_upload"),
            *super().get_urls(),
        ]

    def upload(self, request: HttpRequest) -> HttpResponse:
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            file_format = "jsonl" if upload.name.endswith((".jsonl", ".ndjson")) else "csv"
            with tempfile.NamedTemporaryFile(suffix="." + file_format) as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
                handle.flush()
                kind = form.cleaned_data["kind"] or "events"
                load = import_file if kind == "events" else partial(import_records, kind=kind)
                batch = load(
                    deployment=form.cleaned_data["deployment"],
                    path=Path(handle.name),
                    file_format=file_format,
                    created_by=f"django-admin:{request.user}",
                    filename=upload.name,
                )
            level = messages.SUCCESS if batch.status == ImportBatch.Status.DONE else messages.ERROR
            self.message_user(
                request,
                f"{upload.name}: {batch.get_status_display()}, "
                f"{batch.rows_stored} stored, {len(batch.rejected)} rejected rows "
                "listed in the report.",
                level,
            )
            return redirect("admin:completion_importbatch_change", batch.pk)
        return render(
            request,
            "admin/completion/form.html",
            {
                "form": form,
                "title": "Import",
                "multipart": True,
                **self.admin_site.each_context(request),
            },
        )
