"""Learners' replies to their messages: an SMS back to our number, or an email to a message's
own reply address. A reply is matched to the message it answers, stored, audited, and counts
as a response to that message's playbook step (as a click does). STOP-style SMS keywords opt
the learner out of SMS instead.

Checking the provider's signature is the webhook views' job (`channels.sms.signature_ok`,
`channels.email.inbound_signature_ok`); this module trusts what it is given.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from interventions.delivery.preferences import opt_out
from interventions.models import Channel, ContactPreference, InboundReply, OutboundMessage
from lti_tool.audit.trail import append_audit

log = logging.getLogger("finishline.replies")

# The keywords carriers and Twilio treat as an SMS opt-out.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
TEXT_LIMIT = 5000
REPLY_ADDRESS = re.compile(r"^reply\+([A-Za-z0-9_-]{16,64})@(.+)$")


class UnknownReply(Exception):
    """No message this reply could answer (an unknown number or reply address)."""


def digits(number: str) -> str:
    return re.sub(r"\D", "", number)


@transaction.atomic
def record_sms_reply(*, from_number: str, body: str, provider_id: str) -> InboundReply | None:
    """An SMS from `from_number`: a STOP keyword opts every learner with that verified number
    out of SMS; any reply is recorded against the newest SMS sent to that number's learner
    (None: an opt-out with no SMS to file it under). Raises UnknownReply when no learner has
    verified that number, or none was sent an SMS."""
    wanted = digits(from_number)
    if len(wanted) < 6:
        raise UnknownReply("the sender's number is not a phone number")
    contacts = [
        c
        for c in ContactPreference.objects.filter(
            phone_verified_at__isnull=False, phone__endswith=wanted[-6:]
        ).select_related("person__deployment")
        if digits(c.phone) == wanted
    ]
    if not contacts:
        raise UnknownReply("no learner has verified this number")
    stop = body.strip().upper().rstrip(".!") in STOP_WORDS
    if stop:
        for contact in contacts:
            opt_out(person=contact.person, channel=Channel.SMS, actor="sms-reply")
    message = _newest_sms(contacts, wanted)
    if message is None:
        if stop:  # the opt-out stands; there is just no message to file it under
            return None
        raise UnknownReply("no SMS was sent to this number")
    return _record(message, Channel.SMS, from_number, body, provider_id, opted_out=stop)


def _newest_sms(contacts: list[ContactPreference], wanted: str) -> OutboundMessage | None:
    candidates = (
        OutboundMessage.objects.filter(
            channel=Channel.SMS,
            status=OutboundMessage.Status.SENT,
            membership__person__in=[c.person_id for c in contacts],
        )
        .select_related("membership", "deployment")
        .order_by("-sent_at", "-pk")[:20]
    )
    return next((m for m in candidates if digits(m.to_address) == wanted), None)


@transaction.atomic
def record_email_reply(*, recipient: str, sender: str, text: str, provider_id: str) -> InboundReply:
    """An email to a message's reply address; raises UnknownReply for an address no message
    holds."""
    match = REPLY_ADDRESS.match(recipient.strip().strip("<>"))
    message = None
    if match is not None:
        message = (
            OutboundMessage.objects.filter(reply_token=match.group(1), membership__isnull=False)
            .select_related("membership", "deployment")
            .first()
        )
    if message is None:
        raise UnknownReply("no message has this reply address")
    return _record(message, Channel.EMAIL, sender, text, provider_id, opted_out=False)


def _record(
    message: OutboundMessage,
    channel: str,
    sender: str,
    text: str,
    provider_id: str,
    *,
    opted_out: bool,
    now: datetime | None = None,
) -> InboundReply:
    now = now or timezone.now()
    assert message.membership is not None  # both callers match only messages to a learner
    provider_id = provider_id.strip()[:300]
    if provider_id:
        seen = InboundReply.objects.filter(channel=channel, provider_id=provider_id).first()
        if seen is not None:  # the provider retried a webhook we already took
            return seen
    try:
        with transaction.atomic():
            reply = InboundReply.objects.create(
                message=message, membership=message.membership, channel=channel,
                from_address=sender[:500], text=text.strip()[:TEXT_LIMIT],
                provider_id=provider_id, opted_out=opted_out, received_at=now,
            )  # fmt: skip
    except IntegrityError:
        return InboundReply.objects.get(channel=channel, provider_id=provider_id)
    if not opted_out and message.replied_at is None:
        OutboundMessage.objects.filter(pk=message.pk, replied_at__isnull=True).update(
            replied_at=now
        )
    append_audit(
        actor=f"{channel}-reply",
        action="message.reply_received",
        obj=reply,
        deployment=message.deployment,
        data={"message": message.pk, "reason": message.reason, "opted_out": opted_out},
    )
    log.info("reply_received channel=%s message=%s opted_out=%s", channel, message.pk, opted_out)
    return reply
