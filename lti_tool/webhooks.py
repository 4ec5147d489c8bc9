"""Signed outbound webhooks: subscriptions per deployment, one delivery per event and receiver.

Owns the event names, the signature, queueing (`emit`) and sending with retries (`deliver_due`).
It does not decide when an event happens: the apps that emit them do. A deployment's events only
ever go to that deployment's subscriptions.

Each delivery is a POST of the JSON payload
``{"id": <event id>, "type": <event>, "occurred_at": <ISO 8601>, "deployment": <deployment id>,
"data": {...}}`` with these headers::

    Content-Type: application/json
    X-Finishline-Event: certificate.issued
    X-Finishline-Delivery: <event id, a UUID; the same on every retry>
    X-Finishline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>

The signature (as Stripe's) is HMAC-SHA256, keyed with the subscription's secret, over the bytes
``f"{t}."`` followed by the raw request body. A receiver verifies by recomputing it over the body
exactly as received, comparing with `hmac.compare_digest`, and rejecting a `t` more than five
minutes from its own clock (a replayed request); `verify_signature` does all three. A 2xx answer
means delivered; anything else is retried with growing, jittered delays for 24 hours, so
receivers should ignore an event id they have already processed.

Receivers are reached through the guarded outbound client (`lti_tool.outbound`): https in
production, no private or metadata addresses, no redirects. Only a short summary of each
answer is kept (status, type, size), never its body: the target is the subscriber's choice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from lti_tool import outbound
from lti_tool.audit.trail import append_audit
from lti_tool.models import Deployment, WebhookDelivery, WebhookSubscription
from lti_tool.ops import metrics

log = logging.getLogger(__name__)

EVENTS = (
    "completion.achieved",
    "certificate.issued",
    "certificate.expired",
    "certificate.revoked",
    "risk.tier_red",
    "learner.paused",
    "learner.resumed",
    "intervention.escalated",
)
SIGNATURE_TOLERANCE = 300  # seconds a receiver should accept between `t` and its clock
LEASE = timedelta(seconds=60)
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=2)
RETRY_WINDOW = timedelta(hours=24)
RESPONSE_KEPT = 200  # characters of the summary kept of a receiver's answer (never its body)
MAX_ANSWER_BYTES = 64 * 1024
DELIVER_TASK = "lti_tool.tasks.deliver_webhooks"

_url_validator = URLValidator(schemes=["http", "https"])


class WebhookRefused(ValueError):
    """A subscription or event that must not be accepted (unknown event, non-HTTP URL)."""


@dataclass(frozen=True)
class DeliveryResult:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


# Pure helpers -----------------------------------------------------------------------------


def check_events(events: Iterable[str]) -> list[str]:
    """The event names, deduplicated in order; refuses names not in `EVENTS`."""
    wanted = list(dict.fromkeys(events))
    unknown = [name for name in wanted if name not in EVENTS]
    if unknown:
        raise WebhookRefused(f"unknown webhook event(s): {', '.join(unknown)}")
    return wanted


def check_url(url: str) -> str:
    """The URL if it is an absolute URL the guarded client may reach, that fits the field."""
    try:
        _url_validator(url)
    except ValidationError as exc:
        raise WebhookRefused(f"webhook URL must be an http(s) URL: {url[:100]!r}") from exc
    if len(url) > 1000:
        raise WebhookRefused("webhook URL is longer than 1000 characters")
    try:
        outbound.check_target(url)
    except outbound.OutboundError as exc:
        raise WebhookRefused(f"webhook URL refused: {exc}") from exc
    return url


def wants(events: Sequence[str], event: str) -> bool:
    return not events or event in events


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `f"{timestamp}."` followed by the body."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: int, tolerance: int = SIGNATURE_TOLERANCE
) -> bool:
    """Whether an `X-Finishline-Signature` header signs `body` with `secret`, recently."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def retry_delay(attempts: int, *, rand: float) -> timedelta:
    """Backoff after `attempts` tries: doubling, capped, with equal jitter (`rand` in [0, 1))."""
    ceiling = min(RETRY_CAP, RETRY_BASE * 2 ** min(attempts, 20))
    return timedelta(seconds=ceiling.total_seconds() * (0.5 + rand / 2))


# Services ---------------------------------------------------------------------------------


@transaction.atomic
def subscribe(
    *,
    deployment: Deployment,
    url: str,
    events: Iterable[str],
    description: str = "",
    by: str,
) -> tuple[WebhookSubscription, str]:
    """Create an active subscription; returns it and its secret (shown to nobody later)."""
    subscription = WebhookSubscription.objects.create(
        deployment=deployment,
        url=check_url(url),
        events=check_events(events),
        description=description,
        secret=secrets.token_urlsafe(32),
    )
    append_audit(
        actor=by,
        action="webhook.subscribed",
        obj=subscription,
        deployment=deployment,
        data={"url": subscription.url, "events": subscription.events},
    )
    return subscription, subscription.secret


@transaction.atomic
def has_subscribers(deployment_id: int) -> bool:
    """Whether anything listens in this deployment (callers skip building payloads if not)."""
    return WebhookSubscription.objects.filter(deployment_id=deployment_id, active=True).exists()


def event_id_for(*parts: object) -> uuid.UUID:
    """A stable event id, so emitting the same fact twice is delivered once."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "finishline:" + ":".join(map(str, parts)))


def emit(
    *,
    deployment: Deployment,
    event: str,
    data: dict[str, Any],
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> int:
    """Queue `event` for each active subscription of `deployment` that wants it.

    An event id already queued for a subscription is not queued again. Returns how many
    deliveries were queued; sending starts once the transaction commits.
    """
    check_events([event])
    event_id = event_id or uuid.uuid4()
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(deployment=deployment, active=True)
        if wants(s.events, event)
    ]
    queued = set(
        WebhookDelivery.objects.filter(
            subscription__in=subscriptions, event_id=event_id
        ).values_list("subscription_id", flat=True)
    )
    now = timezone.now()
    payload = _payload(deployment, event, data, event_id, occurred_at or now)
    new = [
        WebhookDelivery(
            subscription=s, event=event, event_id=event_id, payload=payload, next_attempt_at=now
        )
        for s in subscriptions
        if s.pk not in queued
    ]
    WebhookDelivery.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        transaction.on_commit(lambda: async_task(DELIVER_TASK))
    return len(new)


def _payload(
    deployment: Deployment,
    event: str,
    data: dict[str, Any],
    event_id: uuid.UUID,
    occurred_at: datetime,
) -> dict[str, Any]:
    payload = {
        "id": str(event_id),
        "type": event,
        "occurred_at": occurred_at.isoformat(),
        "deployment": deployment.deployment_id,
        "data": data,
    }
    # Round-trip so dates and decimals in `data` become what the JSON column stores.
    parsed: dict[str, Any] = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return parsed


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> DeliveryResult:
    """Send up to `limit` deliveries due at `now`. Safe to run in several workers at once.

    Deliveries of inactive subscriptions wait until they are active again. `now` only selects
    what is due; signatures and outcomes use the clock at each send.
    """
    outcomes = {"delivered": 0, "retried": 0, "failed": 0}
    with outbound.session(max_bytes=MAX_ANSWER_BYTES) as session:
        for delivery in _claim_due(now=now or timezone.now(), limit=limit):
            outcome = _attempt(delivery, session)
            if outcome is not None:
                outcomes[outcome] += 1
    return DeliveryResult(**outcomes)


def _claim_due(*, now: datetime, limit: int) -> list[WebhookDelivery]:
    """Lease due deliveries to this worker by pushing their next attempt past the lease."""
    with transaction.atomic():
        rows = WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now,
            subscription__active=True,
        ).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            # Lock only the deliveries, not the joined subscription rows.
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        ids = list(rows.values_list("id", flat=True)[:limit])
        lease_until = now + LEASE
        WebhookDelivery.objects.filter(id__in=ids).update(next_attempt_at=lease_until)
    return list(
        WebhookDelivery.objects.filter(id__in=ids, next_attempt_at=lease_until)
        .select_related("subscription")
        .order_by("next_attempt_at", "id")
    )


def _attempt(delivery: WebhookDelivery, session: requests.Session) -> str | None:
    """One POST; returns "delivered", "retried" or "failed", or None if another worker has it."""
    started = timezone.now()
    # Renew the lease from now, and only if it is still ours: a long batch may outlive it.
    renewed = WebhookDelivery.objects.filter(
        pk=delivery.pk,
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=delivery.next_attempt_at,
    ).update(next_attempt_at=started + LEASE, attempts=F("attempts") + 1)
    if not renewed:
        return None
    delivery.attempts += 1
    code, text, error = _post(delivery, session, timestamp=int(started.timestamp()))
    finished = timezone.now()
    fields: dict[str, Any] = {
        "last_status_code": code,
        "last_response": text[:RESPONSE_KEPT],
        "last_error": error,
    }
    if code is not None and 200 <= code < 300:
        _save(delivery, status=WebhookDelivery.Status.DELIVERED, delivered_at=finished, **fields)
        return "delivered"
    log.warning(
        "webhook %s %s to %s failed (attempt %d): %s",
        delivery.event,
        delivery.event_id,
        delivery.subscription.url,
        delivery.attempts,
        error,
    )
    deadline = delivery.created_at + RETRY_WINDOW
    if finished >= deadline:
        _save(delivery, status=WebhookDelivery.Status.FAILED, **fields)
        return "failed"
    later = finished + retry_delay(delivery.attempts, rand=random.random())
    _save(delivery, next_attempt_at=min(later, deadline), **fields)
    return "retried"


def _post(
    delivery: WebhookDelivery, session: requests.Session, *, timestamp: int
) -> tuple[int | None, str, str]:
    """The status code, a summary of the answer and an error description (empty on 2xx)."""
    subscription = delivery.subscription
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Finishline-Event": delivery.event,
        "X-Finishline-Delivery": str(delivery.event_id),
        "X-Finishline-Signature": signature_header(subscription.secret, timestamp, body),
    }
    try:
        response = session.post(subscription.url, data=body, headers=headers)
    except requests.RequestException as exc:
        metrics.PROVIDER_ERRORS.labels("webhook").inc()
        # The guarded client's messages name no address and no answer.
        return None, "", str(exc)[:RESPONSE_KEPT]
    code = response.status_code
    if not 200 <= code < 300:
        metrics.PROVIDER_ERRORS.labels("webhook").inc()
    kind = response.headers.get("Content-Type", "").split(";")[0].strip()[:60] or "no type"
    summary = f"HTTP {code}, {kind}, {len(response.content)} bytes"
    return code, summary, "" if 200 <= code < 300 else f"HTTP {code}"


def _save(delivery: WebhookDelivery, **fields: Any) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    for name, value in fields.items():
        setattr(delivery, name, value)


@transaction.atomic
def replay(deliveries: Iterable[WebhookDelivery], *, by: str) -> int:
    """Queue the deliveries again, due now, whatever their status; returns how many.

    The 24-hour retry window still counts from each delivery's creation, so an old delivery
    that fails its replay is marked failed at once.
    """
    ids = [d.pk for d in deliveries]
    rows = list(
        WebhookDelivery.objects.filter(pk__in=ids).select_related("subscription__deployment")
    )
    WebhookDelivery.objects.filter(pk__in=[r.pk for r in rows]).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now()
    )
    for row in rows:
        append_audit(
            actor=by,
            action="webhook.replayed",
            obj=row,
            deployment=row.subscription.deployment,
            data={"event": row.event, "event_id": str(row.event_id), "was": row.status},
        )
    if rows:
        transaction.on_commit(lambda: async_task(DELIVER_TASK))
    return len(rows)
