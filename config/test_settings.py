"""Test overrides only; everything else comes from settings.py and the environment."""

from __future__ import annotations

import os

os.environ.setdefault("FINISHLINE_ENV", "test")

from config.settings import *  # noqa: F403
from config.settings import Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
Q_CLUSTER["sync"] = True
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]  # noqa: F405

# A file (not in-memory) SQLite test database, so tests can hand it to a subprocess (a worker
# killed mid-batch, an import interrupted) and see what that process committed.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")  # noqa: F405
    }
    (BASE_DIR / "var").mkdir(exist_ok=True)  # noqa: F405

# Certificate PDFs of a test run go to a scratch folder of that process.
MEDIA_ROOT = BASE_DIR / "var" / f"test-media-{os.getpid()}"  # noqa: F405

# Browser tests run on busy 2-core machines: give the platform-storage round trip more time, so
# a slow answer is not mistaken for a platform without storage.
FINISHLINE["STORAGE_TIMEOUT_MS"] = 15000  # noqa: F405
