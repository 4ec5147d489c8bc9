"""Small helpers shared by tests of several apps."""

from __future__ import annotations

from django.db import connection


def subprocess_database_url() -> str:
    """The URL of the test database, for a subprocess (a worker we kill, an import we interrupt)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user, host = db["USER"] or "postgres", db["HOST"] or "127.0.0.1"
    return f"postgres://{user}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
