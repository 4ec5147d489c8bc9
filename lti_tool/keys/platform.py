"""Platform public keys: the JWKS fetch (bounded in time and size), its cache and key lookup.

A platform's key set is cached in `PlatformKeySet` for PLATFORM_JWKS_TTL. A kid missing from
the cached set triggers one refetch (how a key rotation is followed), but at most one per
PLATFORM_JWKS_REFETCH_INTERVAL, so forged kids cannot turn the tool against a platform's
endpoint. Parsed keys are memoised in-process per (platform, kid, fetched_at). Signature checks
themselves live in `launch.py`.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

import jwt
import requests
from django.conf import settings
from django.utils import timezone

from lti_tool import outbound
from lti_tool.models import Platform, PlatformKeySet

log = logging.getLogger("finishline.launch")

# A key set is a few kilobytes; anything far larger is not one.
MAX_JWKS_BYTES = 512 * 1024


class KeySetUnavailable(Exception):
    """The platform's key set could not be fetched or is not a JWKS."""


class UnknownKey(Exception):
    """The platform does not publish the key the token names (after the allowed refetch)."""


# (platform id, kid) -> (key set fetched_at, parsed key, memo expiry on the monotonic clock).
# Parsing a JWK costs more than verifying a signature, and reading the key set row costs a
# query; a memo entry is dropped when this process refetches that platform's key set.
_KEY_MEMO: dict[tuple[int, str], tuple[datetime, Any, float]] = {}
_MEMO_SECONDS = 300.0


def forget_platform_keys() -> None:
    _KEY_MEMO.clear()


def platform_public_key(platform: Platform, kid: str) -> Any:
    """The platform's public key for `kid`. Raises UnknownKey or KeySetUnavailable."""
    now = timezone.now()
    memo = _KEY_MEMO.get((platform.pk, kid))
    if memo is not None and memo[2] > time.monotonic() and memo[0] + _ttl() > now:
        return memo[1]
    cached = PlatformKeySet.objects.filter(platform=platform).first()
    if cached is not None and cached.fetched_at + _ttl() > now:
        key = _find_key(cached.keys, kid)
        if key is not None:
            return _remember(platform, kid, cached.fetched_at, key)
        if cached.fetched_at + _refetch_interval() > now:
            log.warning(
                "platform_jwks_refetch_skipped platform=%s kid=%r fetched_at=%s",
                platform.pk,
                kid,
                cached.fetched_at.isoformat(),
            )
            raise UnknownKey(kid)
    keys, fetched_at = fetch_platform_jwks(platform)
    key = _find_key(keys, kid)
    if key is None:
        raise UnknownKey(kid)
    return _remember(platform, kid, fetched_at, key)


def _remember(platform: Platform, kid: str, fetched_at: datetime, key: Any) -> Any:
    _KEY_MEMO[(platform.pk, kid)] = (fetched_at, key, time.monotonic() + _MEMO_SECONDS)
    return key


def _ttl() -> timedelta:
    return timedelta(seconds=settings.FINISHLINE["PLATFORM_JWKS_TTL"])


def _refetch_interval() -> timedelta:
    return timedelta(seconds=settings.FINISHLINE.get("PLATFORM_JWKS_REFETCH_INTERVAL", 5))


def fetch_platform_jwks(platform: Platform) -> tuple[dict[str, Any], datetime]:
    """Fetch and store the platform's JWKS, within the configured timeouts and size."""
    try:
        keys = json.loads(_get_bounded(platform.jwks_url))
    except (requests.RequestException, ValueError, KeySetUnavailable) as exc:
        log.warning("platform_jwks_fetch_failed platform=%s error=%s", platform.pk, exc)
        raise KeySetUnavailable(str(exc)) from exc
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        log.warning("platform_jwks_malformed platform=%s", platform.pk)
        raise KeySetUnavailable("not a JWKS document")
    fetched_at = timezone.now()
    # Outside the launch transaction: a refetch is kept even when the launch is refused, which
    # is what makes the refetch interval hold.
    PlatformKeySet.objects.update_or_create(
        platform=platform, defaults={"keys": keys, "fetched_at": fetched_at}
    )
    for memo_key in [k for k in _KEY_MEMO if k[0] == platform.pk]:
        del _KEY_MEMO[memo_key]
    return keys, fetched_at


def _get_bounded(url: str) -> bytes:
    """GET a small document; the whole exchange (not just each read) is held to the timeouts."""
    with outbound.session(max_bytes=MAX_JWKS_BYTES) as session:
        response = session.get(url)
        response.raise_for_status()
        return response.content


def _find_key(keys: dict[str, Any], kid: str) -> Any:
    """The RSA signing key with this kid; keys marked for encryption or another alg are skipped."""
    for jwk in keys.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("kid") != kid or jwk.get("kty") != "RSA":
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
            continue
        try:
            return jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
        except (ValueError, KeyError, TypeError, jwt.InvalidKeyError):
            return None
    return None
