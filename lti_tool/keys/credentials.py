"""Credentials for inbound data and the REST API, issued per deployment.

Secrets are random 32-byte tokens shown once; only their SHA-256 is stored (a slow password
hash buys nothing for a high-entropy token and would cap ingest throughput). Lookups are cached
briefly so a busy xAPI client costs no query per request; revocation clears the cache.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from lti_tool.audit.trail import append_audit
from lti_tool.models import Deployment, ServiceCredential

CACHE_SECONDS = 60
DEFAULT_RATE_PER_MINUTE = 6000


@dataclass(frozen=True)
class IssuedCredential:
    credential: ServiceCredential
    key: str
    secret: str  # shown once, never stored


@dataclass(frozen=True)
class Principal:
    """Who is calling an inbound endpoint: a credential of one deployment."""

    credential_id: int
    deployment_id: int
    kind: str
    rate_limit_per_minute: int


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def issue_credential(
    *, deployment: Deployment, kind: str, name: str, actor: str, rate_limit_per_minute: int = 0
) -> IssuedCredential:
    key, secret = secrets.token_urlsafe(18), secrets.token_urlsafe(32)
    credential = ServiceCredential.objects.create(
        deployment=deployment,
        kind=kind,
        name=name,
        key=key,
        secret_hash=_digest(secret),
        rate_limit_per_minute=rate_limit_per_minute,
    )
    append_audit(
        actor=actor,
        action="credential.issued",
        obj=credential,
        deployment=deployment,
        data={"kind": kind, "name": name, "key": key},
    )
    return IssuedCredential(credential=credential, key=key, secret=secret)


@transaction.atomic
def revoke_credential(*, credential: ServiceCredential, actor: str) -> None:
    credential.revoked_at = timezone.now()
    credential.save(update_fields=["revoked_at"])
    cache.delete(_cache_key(credential.key))
    append_audit(
        actor=actor, action="credential.revoked", obj=credential, deployment=credential.deployment
    )


_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _cache_key(key: str) -> str:
    return f"finishline:credential:{key}"


def authenticate(*, kind: str, key: str, secret: str) -> Principal | None:
    """The principal for a key and secret of the given kind, or None. A key that could not
    have been issued (wrong length or characters, NUL included) is refused unread."""
    if not key or not secret or not _KEY_SHAPE.fullmatch(key):
        return None
    cached = cache.get(_cache_key(key))
    if cached is None:
        row = ServiceCredential.objects.filter(key=key, revoked_at__isnull=True).first()
        cached = (
            (row.pk, row.deployment_id, row.kind, row.rate_limit_per_minute, row.secret_hash)
            if row
            else ()
        )
        cache.set(_cache_key(key), cached, CACHE_SECONDS)
    if not cached:
        return None
    credential_id, deployment_id, found_kind, rate, secret_hash = cached
    if found_kind != kind or not hmac.compare_digest(secret_hash, _digest(secret)):
        return None
    return Principal(credential_id, deployment_id, found_kind, rate or DEFAULT_RATE_PER_MINUTE)


def authenticate_token(*, kind: str, token: str) -> Principal | None:
    """A bearer token is `key.secret`."""
    key, _, secret = token.partition(".")
    return authenticate(kind=kind, key=key, secret=secret)


def allow_request(principal: Principal, *, now: float | None = None) -> bool:
    """A fixed one-minute window per credential; False means answer 429."""
    window = int((now or time.time()) // 60)
    cache_key = f"finishline:rate:{principal.credential_id}:{window}"
    cache.add(cache_key, 0, 120)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, 120)
        count = 1
    return count <= principal.rate_limit_per_minute
