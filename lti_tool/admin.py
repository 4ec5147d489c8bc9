"""Django admin: manual registration and approval of platforms, read-only audit and keys."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from lti_tool.audit import append_audit
from lti_tool.keys import rotate_keys
from lti_tool.middleware import forget_frame_origins
from lti_tool.models import (
    AuditEntry,
    Course,
    Deployment,
    Membership,
    Person,
    Platform,
    ToolKey,
)
from lti_tool.services import approve_platform


class DeploymentInline(admin.TabularInline[Deployment, Platform]):
    model = Deployment
    extra = 1
    fields = ("deployment_id", "name", "status")


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin[Platform]):
    """Manual registration for platforms without Dynamic Registration; approval of pending ones."""

    list_display = ("__str__", "issuer", "client_id", "product", "status", "created_at")
    list_filter = ("status", "product")
    search_fields = ("issuer", "client_id", "name")
    readonly_fields = ("openid_configuration", "created_at")
    inlines = (DeploymentInline,)
    actions = ("approve",)

    @admin.action(description="Approve the selected platforms and their deployments")
    def approve(self, request: HttpRequest, queryset: QuerySet[Platform]) -> None:
        for platform in queryset:
            approve_platform(platform=platform, actor=f"django-admin:{request.user}")
        forget_frame_origins()
        self.message_user(request, f"Approved {queryset.count()} platform(s).", messages.SUCCESS)

    def save_model(self, request: HttpRequest, obj: Platform, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        append_audit(
            actor=f"django-admin:{request.user}",
            action="platform.updated" if change else "platform.registered",
            obj=obj,
            data={"issuer": obj.issuer, "client_id": obj.client_id, "status": obj.status},
        )
        forget_frame_origins()


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin[Course]):
    list_display = ("__str__", "context_id", "deployment", "created_at", "retired_at")
    search_fields = ("title", "context_id")
    list_filter = ("deployment",)
    readonly_fields = ("nrps_url", "ags_lineitems_url", "ags_scopes", "created_at")


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin[Person]):
    list_display = ("__str__", "email", "sub", "deployment")
    search_fields = ("name", "email", "sub", "sourced_id")
    list_filter = ("deployment",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ("person", "course", "role", "status", "enrolled_at", "last_launch_at")
    list_filter = ("role", "status")
    search_fields = ("person__name", "person__email", "course__title")
    raw_id_fields = ("person", "course")


@admin.register(ToolKey)
class ToolKeyAdmin(admin.ModelAdmin[ToolKey]):
    list_display = ("kid", "state", "created_at", "activated_at", "retired_at")
    fields = ("kid", "state", "public_jwk", "created_at", "activated_at", "retired_at")
    readonly_fields = fields
    actions = ("rotate",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ToolKey | None = None) -> bool:
        return False

    @admin.action(description="Rotate the signing key (next becomes current)")
    def rotate(self, request: HttpRequest, queryset: QuerySet[ToolKey]) -> None:
        key = rotate_keys(actor=f"django-admin:{request.user}")
        self.message_user(request, f"Now signing with {key.kid}.", messages.SUCCESS)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """The audit trail is append-only: nobody changes or deletes it here."""

    list_display = ("id", "at", "actor", "action", "object_type", "object_id", "deployment")
    list_filter = ("action",)
    search_fields = ("actor", "action", "object_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
