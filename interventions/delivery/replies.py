"""Learners' replies to their messages: an SMS back to our number, or an email to a message's
own reply address. A reply is matched to the message it answers, stored, audited, and counts
as a response to that message's playbook step (as a click does). STOP-style SMS keywords opt
the learner out of SMS instead.

Checking the provider's signature and dropping auto-replies is the webhook views' job
(`channels.sms.signature_ok`, `channels.email.inbound_signature_ok`, `is_auto_reply`); this
module trusts what it is given, but takes each email signature token once (Mailgun's
signature does not cover the content).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from interventions.delivery.channels.email import INBOUND_MAX_AGE_SECONDS, same_address
from interventions.delivery.preferences import opt_out
from interventions.models import (
    Channel,
    ContactPreference,
    InboundEmailToken,
    InboundReply,
    OutboundMessage,
)
from lti_tool.audit.trail import append_audit

log = logging.getLogger("finishline.replies")

# The keywords carriers and Twilio treat as an SMS opt-out.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
TEXT_LIMIT = 5000
REPLY_ADDRESS = re.compile(r"^reply\+([A-Za-z0-9_-]{16,64})@(.+)$", re.IGNORECASE)
# An SMS is filed only under a text sent this recently: all texts come from one number, so a
# reply weeks later is as likely a new conversation (or a recycled number) as an answer.
SMS_REPLY_WINDOW = timedelta(days=14)
# A taken signature token is kept until its timestamp could no longer pass the age check.
TOKEN_KEEP = timedelta(seconds=2 * INBOUND_MAX_AGE_SECONDS)


class UnknownReply(Exception):
    """No message this reply could answer. `reason`: "unknown" (no learner, message or
    address) or "ambiguous" (the number belongs to more than one learner)."""

    def __init__(self, why: str, *, reason: str = "unknown") -> None:
        super().__init__(why)
        self.reason = reason


class ReplayedPost(Exception):
    """An inbound email post whose signature token was already taken, with other content."""


def digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def record_sms_reply(
    *, from_number: str, body: str, provider_id: str, now: datetime | None = None
) -> InboundReply | None:
    """An SMS from `from_number`: a STOP keyword opts every learner with that verified number
    out of SMS (committed even when the text is filed nowhere); a reply is recorded against
    the newest SMS sent to that number's one learner within SMS_REPLY_WINDOW (None: an
    opt-out with no SMS to file it under). Raises UnknownReply when no learner has verified
    that number or none was texted recently, reason "ambiguous" when several learners have."""
    now = now or timezone.now()
    wanted = digits(from_number)
    if len(wanted) < 6:
        raise UnknownReply("the sender's number is not a phone number")
    contacts = _verified_contacts(wanted)
    if not contacts:
        raise UnknownReply("no learner has verified this number")
    stop = body.strip().upper().rstrip(".!") in STOP_WORDS
    if stop:
        _opt_out_all(contacts)
    if len({c.person_id for c in contacts}) > 1:
        raise UnknownReply("more than one learner has verified this number", reason="ambiguous")
    message = _newest_sms(contacts, wanted, since=now - SMS_REPLY_WINDOW)
    if message is None:
        if stop:  # the opt-out stands; there is just no message to file it under
            return None
        raise UnknownReply("no SMS was sent to this number recently")
    return _record(message, Channel.SMS, from_number, body, provider_id, opted_out=stop, now=now)


def _verified_contacts(wanted: str) -> list[ContactPreference]:
    return [
        c
        for c in ContactPreference.objects.filter(
            phone_verified_at__isnull=False, phone__endswith=wanted[-6:]
        ).select_related("person__deployment")
        if digits(c.phone) == wanted
    ]


@transaction.atomic
def _opt_out_all(contacts: list[ContactPreference]) -> None:
    for contact in contacts:  # one shared sending number: STOP stops it for each of them
        opt_out(person=contact.person, channel=Channel.SMS, actor="sms-reply")


def _newest_sms(
    contacts: list[ContactPreference], wanted: str, *, since: datetime
) -> OutboundMessage | None:
    candidates = (
        OutboundMessage.objects.filter(
            channel=Channel.SMS,
            status=OutboundMessage.Status.SENT,
            membership__person__in=[c.person_id for c in contacts],
            sent_at__gte=since,
        )
        .select_related("membership", "deployment")
        .order_by("-sent_at", "-pk")[:20]
    )
    return next((m for m in candidates if digits(m.to_address) == wanted), None)


@transaction.atomic
def record_email_reply(
    *,
    recipient: str,
    senders: tuple[str, ...],
    text: str,
    provider_id: str,
    signature_token: str,
    now: datetime | None = None,
) -> InboundReply:
    """An email to a message's reply address, taking its signature token once. It counts as
    the learner's response only when one of `senders` (From, envelope sender) is the address
    the message went to; otherwise it is kept with `from_learner` False. Raises UnknownReply
    for an address no message holds, ReplayedPost for a taken token (bar the provider's
    retry of a reply already stored)."""
    now = now or timezone.now()
    match = REPLY_ADDRESS.match(recipient.strip().strip("<>"))
    message = None
    if match is not None:
        message = (
            OutboundMessage.objects.filter(
                reply_token=match.group(1).lower(), membership__isnull=False
            )
            .select_related("membership", "deployment")
            .first()
        )
    if message is None:
        raise UnknownReply("no message has this reply address")
    seen = _seen(Channel.EMAIL, provider_id)
    if seen is not None:  # the provider retried a webhook we already took
        return seen
    _take_token(signature_token, now)
    from_learner = any(same_address(s, message.to_address) for s in senders if s)
    shown = next((s for s in senders if s), "")
    return _record(
        message, Channel.EMAIL, shown, text, provider_id,
        opted_out=False, from_learner=from_learner, now=now,
    )  # fmt: skip


def _take_token(token: str, now: datetime) -> None:
    InboundEmailToken.objects.filter(received_at__lt=now - TOKEN_KEEP).delete()
    try:
        with transaction.atomic():
            InboundEmailToken.objects.create(token=token[:255], received_at=now)
    except IntegrityError as exc:
        raise ReplayedPost("this signature was already used") from exc


def _seen(channel: str, provider_id: str) -> InboundReply | None:
    provider_id = provider_id.strip()[:300]
    if not provider_id:
        return None
    return InboundReply.objects.filter(channel=channel, provider_id=provider_id).first()


@transaction.atomic
def _record(
    message: OutboundMessage,
    channel: str,
    sender: str,
    text: str,
    provider_id: str,
    *,
    opted_out: bool,
    now: datetime,
    from_learner: bool = True,
) -> InboundReply:
    assert message.membership is not None  # both callers match only messages to a learner
    provider_id = provider_id.strip()[:300]
    seen = _seen(channel, provider_id)
    if seen is not None:  # the provider retried a webhook we already took
        return seen
    try:
        with transaction.atomic():
            reply = InboundReply.objects.create(
                message=message, membership=message.membership, channel=channel,
                from_address=sender[:500], text=text.strip()[:TEXT_LIMIT],
                provider_id=provider_id, opted_out=opted_out, from_learner=from_learner,
                received_at=now,
            )  # fmt: skip
    except IntegrityError:
        return InboundReply.objects.get(channel=channel, provider_id=provider_id)
    counts = from_learner and not opted_out
    if counts and message.replied_at is None:
        OutboundMessage.objects.filter(pk=message.pk, replied_at__isnull=True).update(
            replied_at=now
        )
    append_audit(
        actor=f"{channel}-reply",
        action="message.reply_received",
        obj=reply,
        deployment=message.deployment,
        data={
            "message": message.pk,
            "reason": message.reason,
            "opted_out": opted_out,
            "from_learner": from_learner,
        },
    )
    log.info(
        "reply_received channel=%s message=%s opted_out=%s from_learner=%s",
        channel, message.pk, opted_out, from_learner,
    )  # fmt: skip
    return reply
