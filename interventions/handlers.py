"""Receivers of completion's upward signals: each is one service call."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from completion.dispatch import learner_notice
from interventions.actions import send_notice


@receiver(learner_notice)
def notify_learner(
    *,
    membership_id: int,
    idempotency_key: str,
    subject: str,
    body_text: str,
    link: str = "",
    reason: str = "",
    **_: Any,
) -> None:
    send_notice(
        membership_id=membership_id,
        idempotency_key=idempotency_key,
        subject=subject,
        body_text=body_text,
        link=link,
        reason=reason,
    )
