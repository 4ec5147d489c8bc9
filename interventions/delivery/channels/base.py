"""What every channel adapter returns, and the errors that decide retry or give up."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Delivery:
    provider_message_id: str


class TemporaryFailure(Exception):
    """The provider could not take the message now (timeout, 429, 5xx): retry later."""


class PermanentFailure(Exception):
    """The provider refused the message (bad address, 4xx): do not retry."""
