"""Email over SMTP through Django's mail API: text and HTML parts and one-click unsubscribe.

The Message-ID is derived from the outbox idempotency key, so a message resent after a
worker died between the server's acceptance and our commit carries the same Message-ID.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from collections.abc import Iterable, Sequence
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend

from interventions.delivery.channels.base import Delivery, PermanentFailure, TemporaryFailure


def message_id(idempotency_key: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{settings.FINISHLINE.get('EMAIL_DOMAIN', 'finishline.invalid')}>"


def open_connection() -> BaseEmailBackend:
    """One SMTP connection for a whole batch (per-message connections cap throughput)."""
    connection: BaseEmailBackend = get_connection(timeout=settings.EMAIL_TIMEOUT)
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as exc:
        raise TemporaryFailure(f"SMTP unavailable: {exc}") from exc
    return connection


def build(
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    idempotency_key: str,
    unsubscribe_url: str,
    reply_to: str = "",
) -> EmailMultiAlternatives:
    mail = EmailMultiAlternatives(
        reply_to=[reply_to] if reply_to else None,
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            "Message-ID": message_id(idempotency_key),
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Finishline-Key": idempotency_key,
        },
    )
    if html:
        mail.attach_alternative(html, "text/html")
    return mail


def send(mail: EmailMultiAlternatives, connection: BaseEmailBackend) -> Delivery:
    try:
        sent = connection.send_messages([mail])
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentFailure(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        raise TemporaryFailure(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TemporaryFailure(f"SMTP unavailable: {exc}") from exc
    if not sent:
        raise TemporaryFailure("SMTP server accepted nothing")
    return Delivery(provider_message_id=str(mail.extra_headers["Message-ID"]))


def addresses(values: Sequence[str]) -> list[str]:
    return [v for v in values if v and "@" in v]


INBOUND_MAX_AGE_SECONDS = 15 * 60


def inbound_signature_ok(
    *, signing_key: str, timestamp: str, token: str, signature: str, now: float
) -> bool:
    """An inbound-parse POST signed as Mailgun signs it: hex HMAC-SHA256 of timestamp + token,
    keyed with the webhook signing key; more than 15 minutes away is refused. The signature
    does not cover the content, so the caller also takes each token once
    (`replies.record_email_reply`)."""
    if not (signing_key and timestamp.isdigit() and token and signature):
        return False
    if abs(now - int(timestamp)) > INBOUND_MAX_AGE_SECONDS:
        return False
    expected = hmac.new(
        signing_key.encode(), (timestamp + token).encode(), hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, signature)


# RFC 3834's Auto-Submitted (any value but "no"), and the older conventions vacation
# responders and list servers still send.
AUTO_PRECEDENCE = frozenset({"bulk", "auto_reply", "junk", "list"})
AUTO_REPLY_FLAGS = frozenset({"x-autoreply", "x-autorespond"})


def inbound_headers(
    fields: Iterable[tuple[str, str]], message_headers: str
) -> list[tuple[str, str]]:
    """The headers of an inbound-parse post: Mailgun posts them both as form fields and as
    `message-headers`, a JSON list of [name, value] pairs; either may be missing."""
    pairs = list(fields)
    try:
        listed = json.loads(message_headers) if message_headers else []
    except ValueError:
        listed = []
    if isinstance(listed, list):
        pairs += [
            (str(p[0]), str(p[1])) for p in listed if isinstance(p, list | tuple) and len(p) == 2
        ]
    return pairs


def is_auto_reply(headers: Iterable[tuple[str, str]]) -> bool:
    """An out-of-office, bounce or list mail rather than a person writing back."""
    for name, value in headers:
        key, word = name.strip().lower(), value.split(";")[0].strip().lower()
        if key == "auto-submitted" and word not in ("", "no"):
            return True
        if key == "precedence" and word in AUTO_PRECEDENCE:
            return True
        if key in AUTO_REPLY_FLAGS and word not in ("", "no"):
            return True
    return False


def same_address(a: str, b: str) -> bool:
    """Whether two address fields name the same mailbox (address part only, any case)."""
    left, right = parseaddr(a)[1].strip().lower(), parseaddr(b)[1].strip().lower()
    return bool(left) and left == right
