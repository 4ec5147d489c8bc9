"""Tracked links in learner messages: `/m/<token>/` stands in for the course link in a message
body, and following it records the click and redirects to the link stored with the message.

The token is random (not derived from the learner or the message) and the target is read from
the database, never from the URL, so a tracked link cannot be turned into an open redirect or
tell anything about who it was sent to. Links to other sites (a booking page) are left as they are.

Opening the link (GET or HEAD) records nothing: mail gateways that scan links open them too.
Its page posts back at once (a static script; a button without scripts), and that POST is the
click.
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from interventions.models import OutboundMessage
from lti_tool.audit.trail import append_audit

log = logging.getLogger("finishline.clicks")

TOKEN_BYTES = 24  # 192 random bits, 32 URL-safe characters


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def tracked_url(token: str) -> str:
    return settings.TOOL_BASE_URL + reverse("follow_link", args=[token])


def track(body: str, target: str) -> tuple[str, str, str]:
    """`body` with every occurrence of `target` replaced by a new tracked link; returns the
    body, the token and the target, or the body unchanged and empty strings when `target` is
    empty or not in it (a course's own wording may leave the link out)."""
    if not target or target not in body:
        return body, "", ""
    token = new_token()
    return body.replace(target, tracked_url(token)), token, target


def link_target(token: str) -> str | None:
    """Where the link leads, without counting anything; None for a token no message holds."""
    return (
        OutboundMessage.objects.filter(click_token=token)
        .exclude(click_target="")
        .values_list("click_target", flat=True)
        .first()
    )


@transaction.atomic
def follow_link(token: str) -> str | None:
    """Count one click on the message holding `token` (the first click's time once) and
    return where it leads; None for a token no message holds."""
    message = (
        OutboundMessage.objects.select_for_update()
        .filter(click_token=token)
        .exclude(click_target="")
        .first()
    )
    if message is None:
        return None
    first = message.clicked_at is None
    OutboundMessage.objects.filter(pk=message.pk).update(
        click_count=F("click_count") + 1, clicked_at=message.clicked_at or timezone.now()
    )
    if first:
        append_audit(
            actor="learner-link",
            action="message_link_followed",
            obj=message,
            deployment=message.deployment,
            data={"message": message.pk, "reason": message.reason},
        )
    log.info("message_link_followed message=%s first=%s", message.pk, first)
    return message.click_target
