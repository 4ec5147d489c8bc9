"""The append-only, hash-chained audit trail.

Each entry's hash covers its content and the previous entry's hash, so any edit, deletion or
reordering breaks the chain from that entry on. Appends lock one head row, which serialises
writers and keeps the chain linear under concurrency.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from lti_tool.models import AuditEntry, AuditHead, Deployment

GENESIS = "0" * 64


def entry_hash(
    *,
    prev_hash: str,
    at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    deployment_id: int | None,
    data: dict[str, Any],
) -> str:
    body = json.dumps(
        [prev_hash, at, actor, action, object_type, object_id, deployment_id, data],
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    )
    return hashlib.sha256(body.encode()).hexdigest()


@transaction.atomic
def append_audit(
    *,
    actor: str,
    action: str,
    obj: models.Model | None = None,
    deployment: Deployment | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain. `data` must be JSON-serialisable."""
    head, _ = AuditHead.objects.select_for_update().get_or_create(
        id=1, defaults={"last_hash": GENESIS}
    )
    # Round-trip through JSON so the hash is computed over exactly what the database stores.
    payload = json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))
    at = timezone.now().replace(microsecond=0)
    actor = actor[:255]
    object_type = obj._meta.label if obj is not None else ""
    object_id = str(obj.pk) if obj is not None else ""
    digest = entry_hash(
        prev_hash=head.last_hash,
        at=at.isoformat(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        deployment_id=deployment.pk if deployment is not None else None,
        data=payload,
    )
    entry = AuditEntry.objects.create(
        deployment=deployment,
        at=at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=payload,
        prev_hash=head.last_hash,
        hash=digest,
    )
    head.last_hash = digest
    head.save(update_fields=["last_hash"])
    return entry


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str


def verify_chain(batch_size: int = 5000) -> tuple[int, ChainBreak | None]:
    """Walk the chain in order; return the count checked and the first broken entry."""
    prev, prev_id = GENESIS, 0
    checked = 0
    for entry in _entries(batch_size):
        if entry.prev_hash != prev:
            after = f"after entry {prev_id}" if prev_id else "at the start"
            return checked, ChainBreak(
                entry.pk,
                f"previous hash does not match: an entry {after} was removed, "
                "or entries were reordered",
            )
        expected = entry_hash(
            prev_hash=entry.prev_hash,
            at=entry.at.isoformat(),
            actor=entry.actor,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            deployment_id=entry.deployment_id,
            data=entry.data,
        )
        if expected != entry.hash:
            return checked, ChainBreak(entry.pk, "content does not match its hash (entry altered)")
        prev, prev_id = entry.hash, entry.pk
        checked += 1
    head = AuditHead.objects.filter(id=1).first()
    if head is not None and head.last_hash != prev:
        return checked, ChainBreak(0, "the newest entries are missing (head hash not reached)")
    return checked, None


def _entries(batch_size: int) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        batch = list(AuditEntry.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            return
        yield from batch
        last_id = batch[-1].pk
