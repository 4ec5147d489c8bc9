"""The interventions outbox, contact preferences and the advisor inbox.

Every message to a learner, manager or advisor is first a row in `OutboundMessage` with an
idempotency key, written in the same transaction as the decision that caused it; dispatchers
claim rows with a lease and send them, so a message is neither lost nor sent twice when a
worker dies or two run at once.
"""

from __future__ import annotations

from django.db import models

from lti_tool.models import Course, Deployment, Membership, Person


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    CHAT = "chat", "Chat webhook"
    INBOX = "inbox", "Advisor inbox"


class ContactPreference(models.Model):
    """How a person may be reached. SMS needs an explicit opt-in; opt-outs apply at once."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="contact")
    phone = models.CharField(max_length=32, blank=True)
    sms_opt_in = models.BooleanField(default=False)
    email_opt_out = models.BooleanField(default=False)
    sms_opt_out = models.BooleanField(default=False)
    # Staff may take one digest a day instead of a message per event.
    daily_digest = models.BooleanField(default=False)
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"contact preferences of {self.person_id}"


class OutboundMessage(models.Model):
    """One message to send, exactly once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"
        SUPPRESSED = "suppressed", "Suppressed"

    idempotency_key = models.CharField(max_length=200, unique=True)
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, null=True, blank=True)
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    to_address = models.CharField(max_length=500)
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # What caused the message (playbook step, instructor action, reminder), for outcomes.
    reason = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "not_before"], name="outbox_due"),
            models.Index(fields=["membership", "created_at"], name="outbox_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.to_address} ({self.status})"


class AdvisorCase(models.Model):
    """An escalation a person must close: owner, due date, notes and a resolution."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONTACTED = "contacted", "Contacted"
        RESOLVED = "resolved", "Resolved"

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="cases")
    owner = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_cases"
    )
    reason = models.CharField(max_length=300)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    due_at = models.DateTimeField()
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "status", "due_at"], name="case_inbox")]

    def __str__(self) -> str:
        return f"case {self.pk}: {self.reason}"


class CaseNote(models.Model):
    case = models.ForeignKey(AdvisorCase, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.TextField()
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"note on case {self.case_id}"
