"""The transactional outbox: enqueue messages with an idempotency key, dispatch them once.

`enqueue_message` is called inside the transaction that decides to send, so a message exists
only if the decision committed. `dispatch_due` claims due rows with a lease (SKIP LOCKED on
PostgreSQL, so two dispatchers never take the same row), sends them, and records the outcome.
A worker that dies mid-batch leaves its rows `sending` until the lease expires; they are then
claimed again and resent with the same idempotency key and Message-ID. The only duplicate a
crash can cause is in the instant between a provider's acceptance and our commit, and it
carries the same Message-ID (email) or Idempotency-Key header (SMS, chat).

A slow provider cannot cause a second send: just before each message is sent, its lease is
renewed from now, and only if it is still the lease this dispatcher claimed. A message whose
batch lease ran out while earlier ones were being sent may have been claimed by another
dispatcher meanwhile; this one then skips it.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from interventions.delivery.channels import chat, email, sms
from interventions.delivery.channels.base import Delivery, PermanentFailure, TemporaryFailure
from interventions.models import Channel, OutboundMessage
from lti_tool.models import Course, Deployment, Membership
from lti_tool.ops import metrics

log = logging.getLogger("finishline.outbox")


def lease() -> timedelta:
    """How long a claim holds (a batch, then each message from just before its send)."""
    return timedelta(seconds=settings.FINISHLINE.get("OUTBOX_LEASE_SECONDS", 300))


MAX_ATTEMPTS = 8
UNSUBSCRIBE_SALT = "finishline.unsubscribe"


@dataclass(frozen=True)
class DispatchResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def enqueue_message(
    *,
    idempotency_key: str,
    deployment: Deployment,
    channel: str,
    to_address: str,
    body_text: str,
    subject: str = "",
    body_html: str = "",
    course: Course | None = None,
    membership: Membership | None = None,
    reason: str = "",
    not_before: datetime | None = None,
    decided_by: str = "",
) -> OutboundMessage:
    """Add a message to the outbox once; a second call with the same key returns the first."""
    existing = OutboundMessage.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return OutboundMessage.objects.create(
                idempotency_key=idempotency_key,
                deployment=deployment,
                course=course,
                membership=membership,
                channel=channel,
                to_address=to_address,
                subject=subject,
                body_text=body_text,
                body_html=body_html,
                reason=reason,
                not_before=not_before or timezone.now(),
                decided_by=decided_by[:300],
            )
    except IntegrityError:
        return OutboundMessage.objects.get(idempotency_key=idempotency_key)


def unsubscribe_url(person_id: int, channel: str) -> str:
    token = signing.dumps({"p": person_id, "c": channel}, salt=UNSUBSCRIBE_SALT)
    return settings.TOOL_BASE_URL + reverse("interventions:unsubscribe", args=[token])


def reply_address(message: OutboundMessage) -> str:
    """The email's own reply address, `reply+<token>@<reply domain>` (replies.py reads what
    comes back to it), giving the message its token the first time; empty when replies are
    not set up or the email is not to the learner it concerns (a staff alert about a
    learner is not the learner's to answer)."""
    domain = settings.FINISHLINE_REPLIES["REPLY_DOMAIN"]
    person = message.membership.person if message.membership else None
    if not domain or person is None or person.email.lower() != message.to_address.lower():
        return ""
    if not message.reply_token:
        # Lowercase hex (128 bits): some mail systems lowercase an address's local part.
        message.reply_token = secrets.token_hex(16)
        OutboundMessage.objects.filter(pk=message.pk).update(reply_token=message.reply_token)
    return f"reply+{message.reply_token}@{domain}"


def claim_due(*, limit: int, now: datetime | None = None) -> list[OutboundMessage]:
    """Lease up to `limit` due messages to this dispatcher."""
    now = now or timezone.now()
    due = Q(status=OutboundMessage.Status.PENDING, not_before__lte=now) | Q(
        status=OutboundMessage.Status.SENDING, lease_until__lt=now
    )
    with transaction.atomic():
        rows = OutboundMessage.objects.filter(due).order_by("not_before", "id")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        ids = list(rows.values_list("id", flat=True)[:limit])
        claimed_until = now + lease()
        OutboundMessage.objects.filter(id__in=ids).update(
            status=OutboundMessage.Status.SENDING, lease_until=claimed_until
        )
    return list(
        OutboundMessage.objects.filter(id__in=ids, lease_until=claimed_until)
        .select_related("membership__person")
        .order_by("id")
    )


def dispatch_due(*, limit: int = 200) -> DispatchResult:
    """Send what is due now. Safe to run in several workers at once."""
    messages = claim_due(limit=limit)
    if not messages:
        return DispatchResult()
    sent = retried = failed = 0
    mail_connection = None
    try:
        for message in messages:
            if not _renew_lease(message):
                log.info("outbox_lease_lost id=%s (another dispatcher has it)", message.pk)
                continue
            try:
                if message.channel == Channel.EMAIL and mail_connection is None:
                    mail_connection = email.open_connection()
                delivery = _send(message, mail_connection)
            except TemporaryFailure as exc:
                if _retry_later(message, str(exc)):
                    retried += 1
                else:
                    failed += 1
                continue
            except PermanentFailure as exc:
                metrics.PROVIDER_ERRORS.labels(message.channel).inc()
                _finish(message, OutboundMessage.Status.FAILED, error=str(exc))
                failed += 1
                continue
            _finish(message, OutboundMessage.Status.SENT, delivery=delivery)
            sent += 1
    finally:
        if mail_connection is not None:
            mail_connection.close()
    return DispatchResult(sent=sent, retried=retried, failed=failed)


def _renew_lease(message: OutboundMessage) -> bool:
    """Renew this message's lease from now, if it is still ours; count the attempt."""
    renewed_until = timezone.now() + lease()
    renewed = OutboundMessage.objects.filter(
        pk=message.pk, status=OutboundMessage.Status.SENDING, lease_until=message.lease_until
    ).update(lease_until=renewed_until, attempts=message.attempts + 1)
    message.lease_until = renewed_until
    return renewed == 1


def _send(message: OutboundMessage, mail_connection: object) -> Delivery:
    if message.channel == Channel.EMAIL:
        person_id = message.membership.person_id if message.membership else 0
        mail = email.build(
            to=message.to_address,
            subject=message.subject,
            text=message.body_text,
            html=message.body_html,
            idempotency_key=message.idempotency_key,
            unsubscribe_url=unsubscribe_url(person_id, Channel.EMAIL),
            reply_to=reply_address(message),
        )
        return email.send(mail, mail_connection)  # type: ignore[arg-type]
    if message.channel == Channel.SMS:
        return sms.send(
            to=message.to_address, body=message.body_text, idempotency_key=message.idempotency_key
        )
    if message.channel == Channel.CHAT:
        return chat.send(
            url=message.to_address,
            title=message.subject,
            text=message.body_text,
            idempotency_key=message.idempotency_key,
        )
    raise PermanentFailure(f"channel {message.channel!r} is not sent through the outbox")


def _retry_later(message: OutboundMessage, error: str) -> bool:
    """Schedule a retry with exponential backoff; False when the attempts are used up."""
    attempts = message.attempts + 1
    metrics.PROVIDER_ERRORS.labels(message.channel).inc()
    if attempts >= MAX_ATTEMPTS:
        _finish(message, OutboundMessage.Status.FAILED, error=error)
        return False
    delay = timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundMessage.Status.PENDING,
        not_before=timezone.now() + delay,
        lease_until=None,
        last_error=error[:2000],
    )
    log.warning(
        "outbox_retry id=%s channel=%s attempts=%s error=%r",
        message.pk,
        message.channel,
        attempts,
        error,
    )
    return True


def _finish(
    message: OutboundMessage, status: str, *, delivery: Delivery | None = None, error: str = ""
) -> None:
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=status,
        lease_until=None,
        last_error=error[:2000],
        sent_at=timezone.now() if delivery else None,
        provider_message_id=delivery.provider_message_id if delivery else "",
    )
    if error:
        log.warning("outbox_failed id=%s channel=%s error=%r", message.pk, message.channel, error)
