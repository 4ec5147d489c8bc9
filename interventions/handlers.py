"""Receivers of completion's upward signals (each one service call), and interventions'
sections of the learner's "my data" export."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from completion.dispatch import learner_notice
from interventions.learners.actions import send_notice
from interventions.models import ContactPreference, Intervention, OutboundMessage
from lti_tool.audit import privacy
from lti_tool.models import Person


@receiver(learner_notice)
def notify_learner(
    *,
    membership_id: int,
    idempotency_key: str,
    subject: str,
    body_text: str,
    link: str = "",
    reason: str = "",
    manager_copy: bool = False,
    **_: Any,
) -> None:
    send_notice(
        membership_id=membership_id,
        idempotency_key=idempotency_key,
        subject=subject,
        body_text=body_text,
        link=link,
        reason=reason,
        manager_copy=manager_copy,
    )


def _message_rows(person: Person) -> list[dict[str, Any]]:
    return privacy.rows_of(
        OutboundMessage.objects.filter(membership__person=person)
        .order_by("created_at")
        .values("course__context_id", "channel", "subject", "body_text", "reason", "status",
                "created_at", "sent_at")
    )  # fmt: skip


def _intervention_rows(person: Person) -> list[dict[str, Any]]:
    return privacy.rows_of(
        Intervention.objects.filter(membership__person=person)
        .order_by("planned_at")
        .values("course__context_id", "playbook", "step", "status", "planned_at",
                "reengaged_48h", "reengaged_7d")
    )  # fmt: skip


def _contact_rows(person: Person) -> list[dict[str, Any]]:
    # The chat webhook URL is a secret of the staff member's workspace: only whether it is set.
    return [
        {"phone": c.phone, "sms_opt_in": c.sms_opt_in, "email_opt_out": c.email_opt_out,
         "sms_opt_out": c.sms_opt_out, "daily_digest": c.daily_digest,
         "chat_webhook": "set" if c.chat_webhook_url else "",
         "quiet_hours_start": c.quiet_hours_start, "quiet_hours_end": c.quiet_hours_end,
         "updated_at": c.updated_at}
        for c in ContactPreference.objects.filter(person=person)
    ]  # fmt: skip


privacy.register("messages", _message_rows)
privacy.register("interventions", _intervention_rows)
privacy.register("contact_preferences", _contact_rows)
