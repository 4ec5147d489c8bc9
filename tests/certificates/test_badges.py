from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from certificates import badges

FACTS = badges.BadgeFacts(
    credential_id="https://tool.test/certificates/verify/FL-AAAA-BBBB-CCCC/",
    issuer_id="https://tool.test/certificates/issuer/1",
    issuer_name="Acme Training",
    achievement_id="https://tool.test/certificates/issuer/1#course-7",
    achievement_name="Fire Safety",
    achievement_description="Completed Fire Safety",
    criteria="Met the completion criteria.",
    learner_name="Ada Lovelace",
    learner_email="Ada@Example.edu",
    valid_from=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    valid_until=datetime(2027, 3, 1, 9, 30, tzinfo=UTC),
    status_list_url="https://tool.test/certificates/status/1/revocation",
    status_index=42,
    salt="FL-AAAA-BBBB-CCCC",
)


def test_the_credential_has_the_open_badges_3_shape():
    c = badges.credential(FACTS)
    assert c["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert c["@context"][1].startswith("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0")
    assert c["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert c["validFrom"] == "2026-03-01T09:30:00Z"
    assert c["validUntil"] == "2027-03-01T09:30:00Z"
    subject = c["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["achievement"]["type"] == ["Achievement"]
    email = next(i for i in subject["identifier"] if i["identityType"] == "emailAddress")
    assert email["hashed"] is True
    assert email["identityHash"].startswith("sha256$")
    assert "ada@example.edu" not in str(c).lower()  # the email only hashed
    status = c["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    assert status["statusListIndex"] == "42"
    assert status["statusPurpose"] == "revocation"


def test_the_vc_jwt_verifies_with_the_published_key_and_fails_when_tampered():
    key = Ed25519PrivateKey.generate()
    jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k1"}
    token = badges.sign_vc(badges.credential(FACTS), key, jwk)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == "k1"
    assert header["jwk"]["crv"] == "Ed25519"
    # A verifier takes the key from the header's JWK, as a wallet would.
    public = OKPAlgorithm.from_jwk(header["jwk"])
    claims = badges.verify_vc(token, public, at=FACTS.valid_from)
    assert claims["iss"] == FACTS.issuer_id
    assert claims["jti"] == FACTS.credential_id
    assert claims["nbf"] == int(FACTS.valid_from.timestamp())
    assert claims["exp"] == int(FACTS.valid_until.timestamp())
    head, body, sig = token.split(".")
    forged_body = badges.b64url(badges.b64url_decode(body).replace(b"Ada Lovelace", b"Eve Forger"))
    with pytest.raises(jwt.InvalidSignatureError):
        badges.verify_vc(f"{head}.{forged_body}.{sig}", public, at=FACTS.valid_from)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(jwt.InvalidSignatureError):
        badges.verify_vc(token, other, at=FACTS.valid_from)


def test_the_status_list_sets_exactly_the_revoked_bits_left_to_right():
    encoded = badges.encode_status_list([0, 9, 131_071])
    assert encoded.startswith("u")
    assert badges.status_bit(encoded, 0)
    assert badges.status_bit(encoded, 9)
    assert badges.status_bit(encoded, 131_071)
    assert not any(badges.status_bit(encoded, i) for i in (1, 8, 10, 42, 131_070))
    import gzip

    raw = gzip.decompress(badges.b64url_decode(encoded[1:]))
    assert len(raw) == 16_384
    assert raw[0] == 0x80
    assert raw[1] == 0x40


def test_the_status_list_grows_past_its_minimum_when_needed():
    encoded = badges.encode_status_list([200_000])
    assert badges.status_bit(encoded, 200_000)
    assert not badges.status_bit(encoded, 199_999)
