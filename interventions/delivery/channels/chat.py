"""Chat notifications for managers and advisors through Slack or Teams incoming webhooks.

The webhook URL is staff-configured, so it goes through the guarded outbound client
(`lti_tool.outbound`: public https addresses only in production, no redirects); a refused
address fails the message for good, and a refusal keeps the status code, not the answer.
"""

from __future__ import annotations

from typing import Any

import requests

from interventions.delivery.channels.base import Delivery, PermanentFailure, TemporaryFailure
from lti_tool import outbound

MAX_ANSWER_BYTES = 64 * 1024


def payload(*, url: str, title: str, text: str) -> dict[str, Any]:
    """Slack takes `text` (mrkdwn); Teams takes a MessageCard."""
    if "slack.com" in url or "/slack/" in url:
        return {"text": f"*{title}*\n{text}"}
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title,
        "title": title,
        "text": text,
    }


def send(*, url: str, title: str, text: str, idempotency_key: str) -> Delivery:
    try:
        with outbound.session(max_bytes=MAX_ANSWER_BYTES) as session:
            response = session.post(
                url,
                json=payload(url=url, title=title, text=text),
                headers={"Idempotency-Key": idempotency_key},
            )
    except outbound.AddressRefused as exc:
        raise PermanentFailure(f"chat webhook refused: {exc}") from exc
    except requests.RequestException as exc:
        raise TemporaryFailure(f"chat webhook unreachable: {exc}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TemporaryFailure(f"chat webhook answered {response.status_code}")
    if response.status_code >= 400:
        raise PermanentFailure(f"chat webhook refused: HTTP {response.status_code}")
    return Delivery(provider_message_id=response.headers.get("X-Request-Id", ""))
