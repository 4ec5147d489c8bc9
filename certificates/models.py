"""Certificates: per-course settings, credential tracks, issued records, signing keys, write-back.

An issued certificate is a legal record: its facts (who, what, when, until when, the PDF's
hash) are signed once and never edited. Changes are new issues (renewals, re-issues) or
revocations; only the revocation fields and bookkeeping (reminders sent) change in place.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from lti_tool.models import Course, Deployment, Membership, Person


class PageSize(models.TextChoices):
    A4 = "A4", "A4"
    LETTER = "letter", "US Letter"


class CertificateSettings(models.Model):
    """How one course certifies: template, validity, renewal and reminders."""

    course = models.OneToOneField(
        Course, on_delete=models.CASCADE, related_name="certificate_settings"
    )
    enabled = models.BooleanField(default=True)
    title = models.CharField(max_length=255, blank=True)  # blank: the course title
    template_html = models.TextField(blank=True)  # blank: the default template
    page_size = models.CharField(max_length=10, choices=PageSize.choices, default=PageSize.A4)
    hours = models.FloatField(null=True, blank=True)  # stated hours; else time on task
    organisation = models.CharField(max_length=255, blank=True)
    logo_data_uri = models.TextField(blank=True)  # data:image/…;base64,… (no remote fetches)
    signatories = models.JSONField(default=list, blank=True)  # [{"name": …, "role": …}]
    validity_months = models.PositiveIntegerField(null=True, blank=True)  # None: never expires
    renewal_window_days = models.PositiveIntegerField(default=60)
    reminder_days = models.JSONField(default=list, blank=True)  # [] means (30, 14, 3)
    # Completing this course renews this course's certificates (a refresher course).
    renewal_course = models.ForeignKey(
        Course, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"certificate settings of {self.course}"


class CredentialTrack(models.Model):
    """A programme of several courses with a certificate of its own."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    courses = models.ManyToManyField(Course, related_name="credential_tracks")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class SigningKey(models.Model):
    """An Ed25519 key that signs certificate records, badges and status lists."""

    kid = models.CharField(max_length=64, unique=True)
    private_key_pem = models.TextField()
    public_key = models.CharField(max_length=64)  # raw 32 bytes, base64url
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.kid


class StatusList(models.Model):
    """Hands out positions in a deployment's revocation status list (Bitstring Status List)."""

    deployment = models.OneToOneField(Deployment, on_delete=models.CASCADE, related_name="+")
    next_index = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"status list of deployment {self.deployment_id}"


class Certificate(models.Model):
    serial = models.CharField(max_length=32, unique=True)
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="certificates")
    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, null=True, blank=True, related_name="certificates"
    )
    track = models.ForeignKey(
        CredentialTrack, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The enrolment whose completion earned it (for a renewal: the refresher's enrolment).
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    renews = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="renewals"
    )
    reissue_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reissues"
    )
    # The facts printed and signed: a snapshot, never edited.
    learner_name = models.CharField(max_length=255)
    title = models.CharField(max_length=255)
    hours = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)  # 0..1
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    renewal_from = models.DateTimeField(null=True, blank=True)  # Renewal Required from
    page_size = models.CharField(max_length=10, choices=PageSize.choices, default=PageSize.A4)
    # Awarded because an instructor overrode the learner's status to completed (not because
    # the criteria were met): who did, and the reason they gave. Blank otherwise.
    override_by = models.CharField(max_length=255, blank=True)
    override_reason = models.TextField(blank=True)
    # Filled once when the PDF is rendered and the record signed.
    pdf = models.FileField(upload_to="certificates/%Y/%m/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    signature = models.CharField(max_length=128, blank=True)  # Ed25519, base64url
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, null=True, blank=True)
    status_index = models.PositiveIntegerField()
    # Revocation and bookkeeping: the only fields that change after issue.
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)
    revoked_by = models.CharField(max_length=255, blank=True)
    reminders_sent = models.JSONField(default=list, blank=True)  # [60, 30]
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # A course completion earns one certificate, whatever runs twice.
            models.UniqueConstraint(
                fields=["membership"],
                condition=Q(course__isnull=False, renews__isnull=True, reissue_of__isnull=True),
                name="certificate_once_per_enrolment",
            ),
            models.UniqueConstraint(
                fields=["renews"],
                condition=Q(renews__isnull=False),
                name="certificate_renewed_once",
            ),
            models.UniqueConstraint(
                fields=["deployment", "status_index"], name="certificate_status_index"
            ),
            models.CheckConstraint(
                condition=Q(course__isnull=False) | Q(track__isnull=False),
                name="certificate_of_course_or_track",
            ),
        ]
        indexes = [
            models.Index(fields=["course", "issued_at"], name="certificate_course_issued"),
            models.Index(fields=["person", "issued_at"], name="certificate_person_issued"),
            models.Index(
                fields=["expires_at"],
                condition=Q(expires_at__isnull=False, revoked_at__isnull=True),
                name="certificate_expiring",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.serial} {self.title} for {self.learner_name}"


class GradebookPost(models.Model):
    """A completion to write back to the LMS gradebook, retried until the platform accepts it."""

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()  # 0..100
    completed_at = models.DateTimeField()
    posted_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(posted_at__isnull=True),
                name="gradebook_post_due",
            )
        ]

    def __str__(self) -> str:
        return f"gradebook post for membership {self.membership_id}"
