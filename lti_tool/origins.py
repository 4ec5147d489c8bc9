"""Origins of URLs (scheme://host[:port]), as browsers compare them for framing, form targets
and CORS. Pure: no ORM, no I/O. Registration's discovery check spells the default port out
and lowercases the host instead (`registration.dynamic`), since it compares two URLs a
platform wrote rather than an origin a browser sends.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, or "" when it has none."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
