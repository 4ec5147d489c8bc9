"""Chat notifications for managers and advisors through Slack or Teams incoming webhooks."""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings

from interventions.delivery.channels.base import Delivery, PermanentFailure, TemporaryFailure


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
        response = requests.post(
            url,
            json=payload(url=url, title=title, text=text),
            headers={"Idempotency-Key": idempotency_key},
            timeout=settings.FINISHLINE["HTTP_TIMEOUT"],
        )
    except requests.RequestException as exc:
        raise TemporaryFailure(f"chat webhook unreachable: {exc}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TemporaryFailure(f"chat webhook answered {response.status_code}")
    if response.status_code >= 400:
        raise PermanentFailure(
            f"chat webhook refused: {response.status_code} {response.text[:300]}"
        )
    return Delivery(provider_message_id=response.headers.get("X-Request-Id", ""))
