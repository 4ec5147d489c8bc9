"""Django's PostgreSQL backend, its connection health check skipped when the connection was
seen working moments ago.

With `CONN_HEALTH_CHECKS` Django sends `SELECT 1` at the start of every request that uses the
database: a round trip per request, which a launch burst pays hundreds of times a second. Here
a connection that answered a check or committed within `RECENT_SECONDS` counts as checked; an
idle one is still checked. A connection that dies inside that window fails the one request
that uses it (as one dying mid-request does), and Django drops it at that request's end.
"""

from __future__ import annotations

import time
from typing import Any

from django.db.backends.postgresql import base

RECENT_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known_good_at = float("-inf")

    def connect(self) -> None:
        super().connect()
        self.known_good_at = time.monotonic()

    def close_if_health_check_failed(self) -> None:
        recent = time.monotonic() - self.known_good_at < RECENT_SECONDS
        enabled = self.health_check_enabled  # type: ignore[attr-defined]  # not in the stubs
        if self.connection is not None and enabled and recent:
            self.health_check_done = True
            return
        checking = self.connection is not None and not self.health_check_done
        super().close_if_health_check_failed()
        if checking and self.connection is not None:
            self.known_good_at = time.monotonic()

    def commit(self) -> None:
        super().commit()
        self.known_good_at = time.monotonic()
