"""Launch sessions: how a launch stays known from page to page without a URL or a cookie alone.

A launch opens a `LaunchSession` and gives its page a random secret (only its SHA-256 is
stored). Pages send the secret in the `X-Finishline-Launch` header (links and forms, through
launch.js) or the POST body (`lt`); never in a URL. Each use re-reads the session with its
membership, deployment and platform in one query: a revoked session, a membership that left
the course or changed role, or a disabled installation stops working at once. The session
slides forward while the person works (idle limit), never past its maximum age.

Where the browser keeps cookies in the LMS frame, a partitioned cookie binds the session to
that browser: once it has come back, requests without it are refused. Downloads that must be
plain navigations use short single-use tickets bound to one path (`issue_ticket`).
This module does not decide what a role may see: selectors and view guards do.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from lti_tool.audit.trail import append_audit
from lti_tool.context import LaunchContext
from lti_tool.models import Deployment, LaunchSession, Membership, Platform

TICKET_PREFIX = "finishline:ticket:"
TICKET_SECONDS = 60
# A session's expiry is pushed forward at most once a minute, not on every request.
REFRESH_STEP = timedelta(seconds=60)

_COLUMNS = (
    "pk",
    "deployment_id",
    "platform_id",
    "person_id",
    "course_id",
    "membership_id",
    "role",
    "message_type",
    "frame_origin",
    "binding_hash",
    "cookie_seen",
    "expires_at",
    "ends_at",
    "revoked_at",
    "membership__status",
    "membership__role",
    "deployment__status",
    "deployment__platform__status",
)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def idle_limit() -> timedelta:
    return timedelta(seconds=settings.FINISHLINE["LAUNCH_SESSION_IDLE"])


def max_age() -> timedelta:
    return timedelta(seconds=settings.FINISHLINE["LAUNCH_SESSION_MAX_AGE"])


def max_age_seconds() -> int:
    return int(settings.FINISHLINE["LAUNCH_SESSION_MAX_AGE"])


def new_binding() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class OpenedSession:
    context: LaunchContext
    token: str


def open_session(
    context: LaunchContext, *, binding: str, now: datetime | None = None
) -> OpenedSession:
    """Open a session for a launch just recorded; returns its context and secret (shown once)."""
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    at = connection.ops.adapt_datetimefield_value
    values: list[Any] = [
        digest(token),
        context.deployment_id,
        context.platform_id,
        context.person_id,
        context.course_id,
        context.membership_id,
        context.role,
        context.message_type,
        context.frame_origin[:255],
        digest(binding) if binding else "",
        False,
        at(now),
        at(min(now + idle_limit(), now + max_age())),
        at(now + max_age()),
    ]
    # One statement without the ORM's model machinery: a launch opens one on every launch.
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, values)
        (session_id,) = cursor.fetchone()
    return OpenedSession(context=_with_session(context, session_id), token=token)


_INSERT = (
    "INSERT INTO lti_tool_launchsession (secret_hash, deployment_id, platform_id, person_id,"
    " course_id, membership_id, role, message_type, frame_origin, binding_hash, cookie_seen,"
    " created_at, expires_at, ends_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)


def _with_session(context: LaunchContext, session_id: int) -> LaunchContext:
    fields = {**context.__dict__, "session_id": session_id}
    return LaunchContext(**fields)


def resolve(
    token: str, *, binding: str | None, now: datetime | None = None
) -> LaunchContext | None:
    """The context of a live session for this secret, or None. Slides the session forward."""
    if not token or len(token) > 200:
        return None
    return _resolve_hash(digest(token), binding=binding, now=now or timezone.now())


def _resolve_hash(secret_hash: str, *, binding: str | None, now: datetime) -> LaunchContext | None:
    row = LaunchSession.objects.filter(secret_hash=secret_hash).values_list(*_COLUMNS).first()
    if row is None:
        return None
    found = dict(zip(_COLUMNS, row, strict=True))
    if not _alive(found, now):
        return None
    cookie_now = False
    if binding:
        if not found["binding_hash"] or not secrets.compare_digest(
            digest(binding), found["binding_hash"]
        ):
            return None
        cookie_now = not found["cookie_seen"]
    elif found["cookie_seen"]:
        return None
    updates: dict[str, object] = {}
    if cookie_now:
        updates["cookie_seen"] = True
    slid = min(now + idle_limit(), found["ends_at"])
    if slid - found["expires_at"] >= REFRESH_STEP:
        updates["expires_at"] = slid
    if updates:
        LaunchSession.objects.filter(pk=found["pk"]).update(**updates)
    return LaunchContext(
        deployment_id=found["deployment_id"],
        platform_id=found["platform_id"],
        person_id=found["person_id"],
        course_id=found["course_id"],
        membership_id=found["membership_id"],
        role=found["role"],
        message_type=found["message_type"],
        frame_origin=found["frame_origin"],
        session_id=found["pk"],
    )


def _alive(found: dict[str, object], now: datetime) -> bool:
    """Not revoked, not expired, and the membership, deployment and platform still hold."""
    if found["revoked_at"] is not None:
        return False
    expires_at, ends_at = found["expires_at"], found["ends_at"]
    assert isinstance(expires_at, datetime)
    assert isinstance(ends_at, datetime)
    if expires_at <= now or ends_at <= now:
        return False
    if found["deployment__status"] != Deployment.Status.ACTIVE:
        return False
    if found["deployment__platform__status"] != Platform.Status.ACTIVE:
        return False
    if found["membership_id"] is None:
        return True
    return bool(
        found["membership__status"] == Membership.Status.ACTIVE
        and found["membership__role"] == found["role"]
    )


# --- Single-use download tickets ---------------------------------------------------------


def issue_ticket(launch: LaunchContext, path: str) -> str:
    """A ticket that opens `path` once, within a minute, as this launch's session."""
    secret_hash = (
        LaunchSession.objects.filter(pk=launch.session_id)
        .values_list("secret_hash", flat=True)
        .first()
    )
    if secret_hash is None:
        raise LookupError("no launch session")
    ticket = secrets.token_urlsafe(24)
    cache.set(TICKET_PREFIX + digest(ticket), (secret_hash, path), TICKET_SECONDS)
    return ticket


def redeem_ticket(
    ticket: str, *, path: str, binding: str | None, now: datetime | None = None
) -> LaunchContext | None:
    """The context a ticket was issued for, if it is fresh, for this path, and unused."""
    if not ticket or len(ticket) > 100:
        return None
    key = TICKET_PREFIX + digest(ticket)
    found = cache.get(key)
    # delete() answers whether this call removed it: of two concurrent uses, one wins.
    if not found or found[1] != path or not cache.delete(key):
        return None
    return _resolve_hash(found[0], binding=binding, now=now or timezone.now())


# --- Revocation and upkeep ---------------------------------------------------------------


@transaction.atomic
def revoke_sessions(
    *, deployment: Deployment, by: str, person_id: int | None = None, now: datetime | None = None
) -> int:
    """End every open session of a deployment (or of one person in it) at once. Audited."""
    now = now or timezone.now()
    rows = LaunchSession.objects.filter(
        deployment=deployment, revoked_at__isnull=True, expires_at__gt=now
    )
    if person_id is not None:
        rows = rows.filter(person_id=person_id)
    count = rows.update(revoked_at=now)
    append_audit(
        actor=by,
        action="launch_sessions.revoked",
        obj=deployment,
        deployment=deployment,
        data={"sessions": count, "person": person_id},
    )
    return count


def purge_ended_sessions(*, now: datetime | None = None) -> int:
    """Delete sessions past their expiry (they can no longer be used)."""
    now = now or timezone.now()
    deleted, _ = LaunchSession.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    return deleted
