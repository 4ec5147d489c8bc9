"""The demo's mail catcher, read back: the messages a local SMTP server (aiosmtpd, started by
`./run`) stored in a Maildir, newest first, as subject, addresses, date and text."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path


@dataclass(frozen=True)
class Mail:
    key: str
    sender: str
    to: str
    subject: str
    sent: datetime | None
    text: str


def _text(message: Message) -> str:
    part = next(
        (p for p in message.walk() if p.get_content_type() == "text/plain"),
        None,
    )
    if part is None:
        return ""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return payload.decode(part.get_content_charset() or "utf-8", errors="replace")


def _date(value: str | None) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def read(folder: str, *, page: int = 1, per_page: int = 25) -> tuple[list[Mail], int]:
    """One page of the caught messages (newest first) and how many there are in all."""
    if not folder or not Path(folder, "cur").is_dir():
        return [], 0
    box = mailbox.Maildir(folder, create=False)
    # Maildir file names start with the delivery time: sorting them sorts by arrival.
    keys = sorted(box.keys(), reverse=True)
    start = (max(page, 1) - 1) * per_page
    mails = []
    for key in keys[start : start + per_page]:
        message = box.get_message(key)
        mails.append(
            Mail(
                key=key,
                sender=str(message.get("From", "")),
                to=str(message.get("To", "")),
                subject=str(message.get("Subject", "")),
                sent=_date(message.get("Date")),
                text=_text(message),
            )
        )
    return mails, len(keys)
