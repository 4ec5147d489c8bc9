"""The tool's RSA signing keys: creation, rotation and the published JWKS.

There is always one `current` key (signs everything) and one `next` key (published, not yet
used). Rotation promotes next to current and creates a new next, so a platform that cached
the JWKS before the rotation already knows the key that signs after it; the retired key stays
published for an hour, for processes that have not noticed the rotation yet.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from jwt.algorithms import RSAAlgorithm

from lti_tool.audit.trail import append_audit
from lti_tool.models import ToolKey


def _new_key(state: str) -> ToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    kid = secrets.token_urlsafe(16)
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    now = timezone.now()
    return ToolKey.objects.create(
        kid=kid,
        private_key_pem=pem,
        public_jwk=jwk,
        state=state,
        activated_at=now if state == ToolKey.State.CURRENT else None,
    )


@transaction.atomic
def ensure_keys() -> ToolKey:
    """Return the current key, creating the current and next keys on first use."""
    keys = {k.state: k for k in ToolKey.objects.select_for_update().exclude(state="retired")}
    current = keys.get(ToolKey.State.CURRENT) or _new_key(ToolKey.State.CURRENT)
    if ToolKey.State.NEXT not in keys:
        _new_key(ToolKey.State.NEXT)
    return current


# The current key is read on every launch and service call; keep it in memory briefly. Other
# processes see a rotation within this many seconds, and the key they still sign with stays
# published for RETIRED_GRACE, so nothing they sign in the meantime fails to verify.
_CURRENT_TTL = 30.0
RETIRED_GRACE = timedelta(hours=1)
_current: tuple[float, ToolKey] | None = None


def current_key() -> ToolKey:
    global _current
    if _current is not None and time.monotonic() - _current[0] < _CURRENT_TTL:
        return _current[1]
    key = ToolKey.objects.filter(state=ToolKey.State.CURRENT).first() or ensure_keys()
    _current = (time.monotonic(), key)
    return key


def forget_current_key() -> None:
    global _current
    _current = None


@transaction.atomic
def rotate_keys(*, actor: str) -> ToolKey:
    """Retire the current key, promote the next one and create a new next. Audited."""

    ensure_keys()
    now = timezone.now()
    old = ToolKey.objects.select_for_update().get(state=ToolKey.State.CURRENT)
    new = ToolKey.objects.select_for_update().get(state=ToolKey.State.NEXT)
    old.state, old.retired_at = ToolKey.State.RETIRED, now
    old.save(update_fields=["state", "retired_at"])
    new.state, new.activated_at = ToolKey.State.CURRENT, now
    new.save(update_fields=["state", "activated_at"])
    _new_key(ToolKey.State.NEXT)
    append_audit(actor=actor, action="tool_key.rotated", obj=new, data={"retired": old.kid})
    transaction.on_commit(forget_current_key)
    return new


def public_jwks() -> dict[str, list[dict[str, Any]]]:
    """The JWKS document: current and next keys, and keys retired less than an hour ago."""
    recent = timezone.now() - RETIRED_GRACE
    published = ToolKey.objects.filter(
        Q(state__in=[ToolKey.State.CURRENT, ToolKey.State.NEXT]) | Q(retired_at__gte=recent)
    ).order_by("created_at")
    keys = list(published.values_list("state", "public_jwk"))
    # Only the first request (or one after a manual deletion) takes the lock to create keys.
    if {state for state, _ in keys} >= {ToolKey.State.CURRENT, ToolKey.State.NEXT}:
        return {"keys": [dict(jwk) for _, jwk in keys]}
    ensure_keys()
    return {"keys": [dict(k.public_jwk) for k in published.all()]}
