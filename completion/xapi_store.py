"""Storing xAPI statements: exactly once, with conflicts refused and voiding honoured.

A batch is stored in one transaction or not at all. Each statement is kept verbatim (with the
`id`, `stored`, `authority` and `version` the LRS adds) for audit; its derived engagement event
goes to the event store. A statement id seen before with the same content is accepted again
without a second copy; with different content it is a conflict. A voiding statement marks its
target voided and removes the target's event from the timeline (the statement itself stays).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from completion.events import store_events
from completion.ingest import xapi
from completion.models import Activity, Source, XapiStatement
from lti_tool.models import Deployment

LRS_FIELDS = ("stored", "authority", "version")


class StatementConflict(Exception):
    """A statement id already stored with different content (HTTP 409)."""


class StatementRejected(ValueError):
    """A statement the LRS must refuse although it is well formed (HTTP 400)."""


def _comparable(statement: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k not in LRS_FIELDS and k != "id"}


def normalise(
    statement: Mapping[str, Any], *, stored: datetime, authority: Mapping[str, Any]
) -> dict[str, Any]:
    full = dict(statement)
    full["id"] = str(full.get("id") or uuid.uuid4()).lower()
    full.setdefault("timestamp", stored.isoformat())
    full["stored"] = stored.isoformat()
    full["authority"] = dict(authority)
    full["version"] = str(statement.get("version") or "1.0.0")
    return full


@transaction.atomic
def store_statements(
    *,
    deployment: Deployment,
    statements: Sequence[Mapping[str, Any]],
    authority: Mapping[str, Any],
    now: datetime | None = None,
) -> list[str]:
    """Store a validated batch; return the statement ids in order."""
    now = now or timezone.now()
    batch = [normalise(s, stored=now, authority=authority) for s in statements]
    ids = [s["id"] for s in batch]
    if len(set(ids)) != len(ids):
        raise StatementRejected("the batch repeats a statement id")
    existing = {
        str(row.statement_id): row
        for row in XapiStatement.objects.filter(deployment=deployment, statement_id__in=ids)
    }
    fresh = []
    for statement in batch:
        known = existing.get(statement["id"])
        if known is None:
            fresh.append(statement)
        elif _comparable(known.payload) != _comparable(statement):
            raise StatementConflict(f"statement {statement['id']} exists with other content")
    _void(deployment, fresh)
    XapiStatement.objects.bulk_create(
        [
            XapiStatement(deployment=deployment, statement_id=s["id"], payload=s, stored_at=now)
            for s in fresh
        ]
    )
    events = [
        e
        for e in (xapi.to_event(s, stored=now) for s in fresh if xapi.voided_target(s) is None)
        if e is not None
    ]
    store_events(deployment=deployment, events=events)
    return ids


def _void(deployment: Deployment, fresh: list[dict[str, Any]]) -> None:
    targets = [t for t in (xapi.voided_target(s) for s in fresh) if t]
    if not targets:
        return
    for row in XapiStatement.objects.filter(deployment=deployment, statement_id__in=targets):
        if xapi.voided_target(row.payload) is not None:
            raise StatementRejected(
                f"statement {row.statement_id} is a voiding statement and cannot be voided"
            )
    XapiStatement.objects.filter(deployment=deployment, statement_id__in=targets).update(
        voided=True
    )
    Activity.objects.filter(
        course__deployment=deployment, source=Source.XAPI, source_id__in=targets
    ).delete()


def find_statement(
    *, deployment: Deployment, statement_id: str, voided: bool
) -> dict[str, Any] | None:
    """GET ?statementId (not voided) or ?voidedStatementId (voided only), as the spec asks."""
    row = XapiStatement.objects.filter(
        deployment=deployment, statement_id=statement_id, voided=voided
    ).first()
    return dict(row.payload) if row else None
