"""django-q2 entry points of the foundation."""

from __future__ import annotations

from lti_tool.launch import purge_expired_login_data


def purge_login_data() -> dict[str, int]:
    states, nonces = purge_expired_login_data()
    return {"login_states": states, "nonces": nonces}
