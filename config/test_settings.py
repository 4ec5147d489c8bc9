"""Test overrides only; everything else comes from settings.py and the environment."""

from __future__ import annotations

from config.settings import *  # noqa: F403
from config.settings import Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
Q_CLUSTER["sync"] = True
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]  # noqa: F405
