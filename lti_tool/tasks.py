"""django-q2 entry points of the foundation."""

from __future__ import annotations

from lti_tool.launch import purge_expired_login_data
from lti_tool.webhooks import deliver_due


def purge_login_data() -> dict[str, int]:
    states, nonces = purge_expired_login_data()
    return {"login_states": states, "nonces": nonces}


def deliver_webhooks() -> int:
    """Send the webhook deliveries now due; returns how many were delivered."""
    return deliver_due().delivered
