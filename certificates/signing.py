"""The tool's Ed25519 certificate key: creation, signing and verification of records.

A certificate record is signed as canonical JSON (sorted keys, no spaces) of the facts it
certifies, including the SHA-256 of its PDF; editing any of them in the database breaks the
signature. Old keys stay published (`jwks`) so certificates signed before a rotation verify.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.db import transaction

from certificates.badges import b64url, b64url_decode
from certificates.models import Certificate, SigningKey


def active_key() -> SigningKey:
    """The key that signs now, created on first use.

    No lock: two processes creating the first key at once both publish theirs, and the newest
    signs from then on; every published key verifies what it signed.
    """
    key = SigningKey.objects.filter(active=True).order_by("-pk").first()
    return key or _new_key()


def _new_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return SigningKey.objects.create(
        kid=f"cert-{secrets.token_urlsafe(12)}", private_key_pem=pem, public_key=b64url(raw)
    )


@transaction.atomic
def rotate_signing_key() -> SigningKey:
    """Start signing with a new key; the old ones stay published for verification."""
    SigningKey.objects.filter(active=True).update(active=False)
    return _new_key()


def private_key(key: SigningKey) -> Ed25519PrivateKey:
    loaded = serialization.load_pem_private_key(key.private_key_pem.encode(), password=None)
    assert isinstance(loaded, Ed25519PrivateKey)
    return loaded


def public_key(key: SigningKey) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(b64url_decode(key.public_key))


def public_jwk(key: SigningKey) -> dict[str, str]:
    return {"kty": "OKP", "crv": "Ed25519", "x": key.public_key, "kid": key.kid, "alg": "EdDSA"}


def jwks() -> dict[str, list[dict[str, str]]]:
    return {"keys": [public_jwk(k) for k in SigningKey.objects.order_by("pk")]}


def record_of(cert: Certificate) -> dict[str, Any]:
    """The facts a certificate's signature covers."""
    return {
        "serial": cert.serial,
        "deployment": cert.deployment_id,
        "person": cert.person_id,
        "course": cert.course_id,
        "track": cert.track_id,
        "learner_name": cert.learner_name,
        "title": cert.title,
        "hours": cert.hours,
        "score": cert.score,
        "issued_at": cert.issued_at.isoformat(),
        "expires_at": cert.expires_at.isoformat() if cert.expires_at else None,
        "renewal_from": cert.renewal_from.isoformat() if cert.renewal_from else None,
        "renews": cert.renews_id,
        "reissue_of": cert.reissue_of_id,
        "pdf_sha256": cert.pdf_sha256,
        "status_index": cert.status_index,
    }


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_record(cert: Certificate, key: SigningKey) -> str:
    return b64url(private_key(key).sign(canonical(record_of(cert))))


def signature_valid(cert: Certificate) -> bool:
    """Whether the stored record still matches what was signed at issue."""
    if not cert.signature or cert.key is None:
        return False
    try:
        public_key(cert.key).verify(b64url_decode(cert.signature), canonical(record_of(cert)))
    except (InvalidSignature, ValueError):
        return False
    return True
