"""Django admin: manual registration and approval of platforms, read-only audit and keys,
webhook subscriptions (secret shown once) and deliveries (replayable)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from lti_tool.audit.trail import append_audit
from lti_tool.keys.tool import rotate_keys
from lti_tool.middleware import forget_frame_origins
from lti_tool.models import (
    AuditEntry,
    Course,
    Deployment,
    Membership,
    Person,
    Platform,
    ToolKey,
    WebhookDelivery,
    WebhookSubscription,
)
from lti_tool.services import approve_platform
from lti_tool.webhooks import EVENTS, WebhookRefused, check_url, replay, subscribe


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


class WebhookSubscriptionForm(forms.ModelForm[WebhookSubscription]):
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENTS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ("deployment", "url", "events", "description", "active")

    def clean_url(self) -> str:
        try:
            return check_url(self.cleaned_data["url"])
        except WebhookRefused as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin[WebhookSubscription]):
    """New subscriptions go through `subscribe`; the secret is shown once, in a message."""

    form = WebhookSubscriptionForm
    list_display = ("__str__", "url", "deployment", "active", "created_at")
    list_filter = ("active", "deployment")
    search_fields = ("url", "description")
    readonly_fields = ("created_at",)

    def get_exclude(
        self, request: HttpRequest, obj: WebhookSubscription | None = None
    ) -> list[str] | None:
        # A new subscription starts active; it can be paused once it exists.
        return None if obj is not None else ["active"]

    def save_model(
        self, request: HttpRequest, obj: WebhookSubscription, form: Any, change: bool
    ) -> None:
        actor = f"django-admin:{request.user}"
        if change:
            super().save_model(request, obj, form, change)
            append_audit(
                actor=actor,
                action="webhook.updated",
                obj=obj,
                deployment=obj.deployment,
                data={"url": obj.url, "events": obj.events, "active": obj.active},
            )
            return
        created, secret = subscribe(
            deployment=obj.deployment,
            url=obj.url,
            events=obj.events,
            description=obj.description,
            by=actor,
        )
        obj.pk, obj.secret, obj.created_at = created.pk, created.secret, created.created_at
        self.message_user(
            request,
            f"Signing secret for {obj.url} (copy it now, it is not shown again): {secret}",
            messages.WARNING,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    """Deliveries are a record of what was sent; they change only by being replayed."""

    list_display = (
        "event",
        "event_id",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("status", "event")
    search_fields = ("event_id", "subscription__url")
    list_select_related = ("subscription",)
    readonly_fields = (
        "subscription",
        "event",
        "event_id",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_response",
        "last_error",
        "delivered_at",
        "created_at",
    )
    actions = ("replay_selected",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay selected deliveries", permissions=["change"])
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = replay(queryset, by=f"django-admin:{request.user}")
        self.message_user(request, f"Queued {count} deliveries again.", messages.SUCCESS)
