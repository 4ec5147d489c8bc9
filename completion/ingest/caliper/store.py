"""Storing Caliper envelopes: raw events kept once for audit, their events in the store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from completion.data import StoreResult
from completion.events.store import store_events
from completion.ingest.caliper import envelopes as caliper
from completion.models import CaliperEvent
from lti_tool.models import Deployment


@transaction.atomic
def store_envelope(*, deployment: Deployment, envelope: Mapping[str, Any]) -> StoreResult:
    """Store a validated envelope; events already received are stored once."""
    now = timezone.now()
    events = list(envelope["data"])
    ids = [str(e["id"]) for e in events]
    known = set(
        CaliperEvent.objects.filter(deployment=deployment, event_id__in=ids).values_list(
            "event_id", flat=True
        )
    )
    fresh = [e for e in events if str(e["id"]) not in known]
    CaliperEvent.objects.bulk_create(
        [
            CaliperEvent(deployment=deployment, event_id=str(e["id"]), payload=e, received_at=now)
            for e in fresh
        ],
        ignore_conflicts=True,
    )
    result = store_events(deployment=deployment, events=[caliper.to_event(e) for e in fresh])
    return StoreResult(result.stored, result.duplicate + len(events) - len(fresh), result.pending)
