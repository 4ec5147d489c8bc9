from __future__ import annotations

from django.contrib import admin

from certificates.models import (
    Certificate,
    CertificateSettings,
    CredentialTrack,
    GradebookPost,
    SigningKey,
)


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin[Certificate]):
    """Read-only: certificates are legal records; revoke and re-issue from the LMS page."""

    list_display = ["serial", "learner_name", "title", "issued_at", "expires_at", "revoked_at"]
    list_filter = ["deployment", "course", "track", "issued_at", "revoked_at"]
    search_fields = ["serial", "learner_name", "person__email", "title"]
    date_hierarchy = "issued_at"

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(CertificateSettings)
class CertificateSettingsAdmin(admin.ModelAdmin[CertificateSettings]):
    list_display = ["course", "enabled", "validity_months", "renewal_course"]


@admin.register(CredentialTrack)
class CredentialTrackAdmin(admin.ModelAdmin[CredentialTrack]):
    list_display = ["title", "deployment"]
    filter_horizontal = ["courses"]


@admin.register(GradebookPost)
class GradebookPostAdmin(admin.ModelAdmin[GradebookPost]):
    list_display = ["membership", "score", "posted_at", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["posted_at"]


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin[SigningKey]):
    list_display = ["kid", "active", "created_at"]
    exclude = ["private_key_pem"]
    readonly_fields = ["kid", "public_key", "active", "created_at"]
