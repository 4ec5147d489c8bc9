"""Open Badges 3.0: a certificate as a signed OpenBadgeCredential, and the revocation list.

The credential is secured as a VC-JWT (Open Badges 3.0 §8.2): the payload is the credential
itself plus the registered claims `iss`, `jti`, `nbf`, `exp`; the JOSE header carries the
tool's Ed25519 public key (`jwk`) and `kid`. Revocation is a W3C Bitstring Status List the
tool publishes, itself a VC-JWT. Pure apart from PyJWT and the key objects it is handed.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
STATUS_LIST_BITS = 131_072  # the spec's minimum (16 KB), so one list cannot single anyone out


@dataclass(frozen=True)
class BadgeFacts:
    credential_id: str  # the verification page's URL
    issuer_id: str
    issuer_name: str
    achievement_id: str
    achievement_name: str
    achievement_description: str
    criteria: str
    learner_name: str
    learner_email: str
    valid_from: datetime
    valid_until: datetime | None
    status_list_url: str
    status_index: int
    salt: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def credential(f: BadgeFacts) -> dict[str, Any]:
    """The OpenBadgeCredential (unsigned)."""
    identifiers: list[dict[str, Any]] = [
        {"type": "IdentityObject", "identityType": "name", "hashed": False,
         "identityHash": f.learner_name},
    ]  # fmt: skip
    if f.learner_email:
        digest = hashlib.sha256((f.learner_email.lower() + f.salt).encode()).hexdigest()
        identifiers.append(
            {"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
             "identityHash": f"sha256${digest}", "salt": f.salt}
        )  # fmt: skip
    body: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f.credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": f.issuer_id, "type": ["Profile"], "name": f.issuer_name},
        "validFrom": _iso(f.valid_from),
        "name": f.achievement_name,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": identifiers,
            "achievement": {
                "id": f.achievement_id,
                "type": ["Achievement"],
                "name": f.achievement_name,
                "description": f.achievement_description or f.achievement_name,
                "criteria": {"narrative": f.criteria},
            },
        },
        "credentialStatus": {
            "id": f"{f.status_list_url}#{f.status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(f.status_index),
            "statusListCredential": f.status_list_url,
        },
    }
    if f.valid_until is not None:
        body["validUntil"] = _iso(f.valid_until)
    return body


def sign_vc(body: Mapping[str, Any], key: Ed25519PrivateKey, jwk: Mapping[str, str]) -> str:
    """Secure a credential as a VC-JWT signed with EdDSA."""
    claims: dict[str, Any] = dict(body)
    claims["iss"] = body["issuer"]["id"] if isinstance(body["issuer"], dict) else body["issuer"]
    claims["jti"] = body["id"]
    claims["nbf"] = int(datetime.fromisoformat(body["validFrom"]).timestamp())
    if "validUntil" in body:
        claims["exp"] = int(datetime.fromisoformat(body["validUntil"]).timestamp())
    header = {"typ": "JWT", "kid": jwk["kid"], "jwk": dict(jwk)}
    return jwt.encode(claims, key, algorithm="EdDSA", headers=header)


def verify_vc(token: str, key: Ed25519PublicKey, *, at: datetime | None = None) -> dict[str, Any]:
    """The credential of a VC-JWT whose EdDSA signature verifies (raises jwt errors if not)."""
    options = {"verify_exp": at is None, "verify_nbf": at is None, "require": ["iss", "jti"]}
    return jwt.decode(token, key, algorithms=["EdDSA"], options=options)  # type: ignore[arg-type]


# --- Bitstring Status List ------------------------------------------------------------------


def encode_status_list(revoked: Iterable[int], size: int = STATUS_LIST_BITS) -> str:
    """Multibase base64url (prefix "u") of the GZIP of the bitstring; index 0 is the first bit."""
    indexes = list(revoked)
    bits = max(size, -(-(max(indexes, default=0) + 1) // 8) * 8)
    data = bytearray(bits // 8)
    for i in indexes:
        data[i // 8] |= 0x80 >> (i % 8)
    return "u" + b64url(gzip.compress(bytes(data), mtime=0))


def status_bit(encoded: str, index: int) -> bool:
    """Whether the bit at `index` is set in an encoded list (how a verifier reads it)."""
    if not encoded.startswith("u"):
        raise ValueError("the encoded list must be multibase base64url ('u' prefix)")
    data = gzip.decompress(b64url_decode(encoded[1:]))
    return bool(data[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(
    *, url: str, issuer_id: str, issuer_name: str, encoded: str, valid_from: datetime
) -> dict[str, Any]:
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": issuer_id, "type": ["Profile"], "name": issuer_name},
        "validFrom": _iso(valid_from),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }
