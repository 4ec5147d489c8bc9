"""xAPI attachments: multipart/mixed bodies, part hashes and signed statements. Pure.

`parse_multipart` splits a statements request (Communication 1.5.2): the first part is the
statement JSON, every other part carries `X-Experience-API-Hash` and
`Content-Transfer-Encoding: binary`. `check_attachments` then ties parts to the statements'
attachment headers (each part's SHA-2 verified; no part without a header, no non-fileUrl
header without a part) and checks JWS signatures (Data 2.6). `multipart_body` builds the
response to `GET /statements?attachments=true`: the statement JSON first, then each stored
attachment with its hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from completion.ingest.xapi.statements import comparable
from completion.ingest.xapi.validation import SIGNATURE_USAGE

SIGNATURE_ALGORITHMS = ("RS256", "RS384", "RS512")
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_HASHES = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}


class AttachmentError(ValueError):
    """Why a request's attachments are refused (HTTP 400)."""


@dataclass(frozen=True)
class Part:
    headers: Mapping[str, str]  # lower-case names
    body: bytes


def parse_multipart(body: bytes, content_type: str) -> tuple[bytes, dict[str, bytes]]:
    """The statement JSON and the attachment bodies by their declared SHA-2 (lower case)."""
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise AttachmentError("multipart/mixed needs a boundary parameter")
    parts = split_parts(body, (match.group(1) or match.group(2)).encode())
    if not parts:
        raise AttachmentError("the multipart body has no parts")
    first, rest = parts[0], parts[1:]
    if not first.headers.get("content-type", "").lower().startswith("application/json"):
        raise AttachmentError("the first part must be the statements as application/json")
    attachments: dict[str, bytes] = {}
    for n, part in enumerate(rest, start=2):
        declared = part.headers.get("x-experience-api-hash", "").strip().lower()
        if not declared:
            raise AttachmentError(f"part {n} has no X-Experience-API-Hash header")
        if part.headers.get("content-transfer-encoding", "").strip().lower() != "binary":
            raise AttachmentError(f"part {n} needs Content-Transfer-Encoding: binary")
        digest = _HASHES.get(len(declared))
        if digest is None or digest(part.body).hexdigest() != declared:
            raise AttachmentError(f"part {n}'s content does not match its SHA-2 hash")
        attachments[declared] = part.body
    return first.body, attachments


def split_parts(body: bytes, boundary: bytes) -> list[Part]:
    delimiter = b"--" + boundary
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise AttachmentError("the multipart body is not delimited by its boundary")
    parts = []
    for chunk in chunks[1:-1]:
        chunk = chunk.removeprefix(b"\r\n").removeprefix(b"\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = chunk.partition(b"\n\n")
        if not sep:
            raise AttachmentError("a multipart part has no header block")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        elif content.endswith(b"\n"):
            content = content[:-1]
        parts.append(Part(_headers(head), content))
    return parts


def _headers(block: bytes) -> dict[str, str]:
    headers = {}
    for line in block.decode("latin-1").splitlines():
        name, sep, value = line.partition(":")
        if not sep:
            raise AttachmentError(f"malformed part header {line!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def check_attachments(statements: Sequence[Mapping[str, Any]], parts: Mapping[str, bytes]) -> None:
    """Every non-fileUrl attachment has its part and every part a header; signatures hold."""
    declared: set[str] = set()
    for n, statement in enumerate(statements):
        for attachment in statement.get("attachments") or ():
            sha2 = str(attachment["sha2"]).lower()
            declared.add(sha2)
            if sha2 not in parts and "fileUrl" not in attachment:
                raise AttachmentError(
                    f"statement {n}: attachment {sha2[:12]}… has neither a part nor a fileUrl"
                )
            if attachment.get("usageType") == SIGNATURE_USAGE:
                if sha2 not in parts:
                    raise AttachmentError(f"statement {n}: the signature is not attached")
                check_signature(statement, parts[sha2], index=n)
    extra = set(parts) - declared
    if extra:
        raise AttachmentError("a multipart part matches no attachment of the statements")


def check_signature(statement: Mapping[str, Any], jws: bytes, *, index: int = 0) -> None:
    """A JWS (RS256/384/512) whose payload is the statement before it was signed."""
    try:
        header_b64, payload_b64, signature_b64 = jws.decode("ascii").strip().split(".")
        header = json.loads(_b64(header_b64))
        original = json.loads(_b64(payload_b64))
        _b64(signature_b64)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise AttachmentError(f"statement {index}: the signature is not a compact JWS") from exc
    if not isinstance(header, dict) or header.get("alg") not in SIGNATURE_ALGORITHMS:
        raise AttachmentError(f"statement {index}: the signature must use RS256, RS384 or RS512")
    if not isinstance(original, dict) or not _same_as_signed(original, statement):
        raise AttachmentError(f"statement {index}: the signed payload differs from the statement")
    if header.get("x5c"):
        _verify_with_certificate(jws.decode("ascii").strip(), header, index)


def _same_as_signed(original: dict[str, Any], received: Mapping[str, Any]) -> bool:
    unsigned = dict(received)
    rest = [a for a in received.get("attachments") or () if a.get("usageType") != SIGNATURE_USAGE]
    if rest:
        unsigned["attachments"] = rest
    else:
        unsigned.pop("attachments", None)
    mine, theirs = comparable(unsigned), comparable(original)
    if "id" not in original:
        mine.pop("id"), theirs.pop("id")
    return mine == theirs


def _verify_with_certificate(token: str, header: Mapping[str, Any], index: int) -> None:
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
        key = certificate.public_key()
        if not isinstance(key, RSAPublicKey):
            raise AttachmentError(f"statement {index}: the x5c certificate is not an RSA key")
        jwt.api_jws.decode_complete(token, key=key, algorithms=[str(header["alg"])])
    except (ValueError, TypeError, IndexError, jwt.InvalidTokenError) as exc:
        raise AttachmentError(f"statement {index}: the signature does not verify") from exc


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def multipart_body(
    document: bytes, attachments: Sequence[tuple[str, str, bytes]]
) -> tuple[bytes, str]:
    """A multipart/mixed body (Communication 1.5.2) and its Content-Type header value.

    `attachments` are (sha2, content type, data). The boundary is random and checked against
    every part, so no content can end the body early.
    """
    while True:
        boundary = secrets.token_hex(16)
        if all(boundary.encode() not in data for data in (document, *(a[2] for a in attachments))):
            break
    chunks = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(), document]
    for sha2, content_type, data in attachments:
        if not _SAFE_HEADER.fullmatch(content_type):  # a stored value must not add headers
            content_type = "application/octet-stream"
        head = (
            f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
            f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {sha2}\r\n\r\n"
        )
        chunks += [head.encode(), data]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(chunks), f'multipart/mixed; boundary="{boundary}"'


_SAFE_HEADER = re.compile(r"[\x20-\x7e]{1,255}")
