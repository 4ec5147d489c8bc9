"""SMS through a provider speaking Twilio's Messages REST API.

`POST {base}/2010-04-01/Accounts/{sid}/Messages.json` with form fields To, From and Body and
HTTP Basic auth (account sid, auth token), answering JSON with `sid` and `status`. The base URL
is configurable so any Twilio-compatible provider (or the tests' local server) can stand in.
Replies come back as Twilio's inbound-message webhook (a signed form POST with From and Body);
`signature_ok` checks its signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

import requests
from django.conf import settings

from interventions.delivery.channels.base import Delivery, PermanentFailure, TemporaryFailure


def send(*, to: str, body: str, idempotency_key: str) -> Delivery:
    config = settings.FINISHLINE_SMS
    if not config["ACCOUNT_SID"] or not config["AUTH_TOKEN"]:
        raise PermanentFailure("SMS is not configured (FINISHLINE_SMS_* environment variables)")
    base = config["API_BASE"].rstrip("/")
    url = f"{base}/2010-04-01/Accounts/{config['ACCOUNT_SID']}/Messages.json"
    try:
        response = requests.post(
            url,
            data={"To": to, "From": config["FROM_NUMBER"], "Body": body},
            auth=(config["ACCOUNT_SID"], config["AUTH_TOKEN"]),
            headers={"Idempotency-Key": idempotency_key},
            timeout=settings.FINISHLINE["HTTP_TIMEOUT"],
        )
    except requests.RequestException as exc:
        raise TemporaryFailure(f"SMS provider unreachable: {exc}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TemporaryFailure(f"SMS provider answered {response.status_code}")
    if response.status_code >= 400:
        raise PermanentFailure(
            f"SMS provider refused: {response.status_code} {response.text[:300]}"
        )
    try:
        sid = str(response.json()["sid"])
    except (ValueError, KeyError) as exc:
        raise TemporaryFailure("SMS provider answered without a message sid") from exc
    return Delivery(provider_message_id=sid)


def webhook_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    """Twilio's X-Twilio-Signature of a form POST: base64 of HMAC-SHA1, keyed with the auth
    token, over the full URL it was posted to followed by each field's name and value,
    sorted by name."""
    data = url + "".join(f"{k}{v}" for k, v in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_ok(url: str, params: Iterable[tuple[str, str]], auth_token: str, given: str) -> bool:
    return bool(auth_token and given) and hmac.compare_digest(
        webhook_signature(url, params, auth_token), given
    )
