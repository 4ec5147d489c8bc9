"""Storing xAPI documents (State, Activity Profile, Agent Profile) per deployment.

Each write runs in one transaction that locks the stored document (if any) before checking
preconditions, so two clients racing with the same If-Match cannot both win; a refused write
changes nothing. Two requests creating the same new document at once: the second meets the
unique key and is retried once, then sees the first's document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from completion.ingest.xapi import documents
from completion.ingest.xapi.documents import DocumentKey, DocumentRefused
from completion.models import XapiDocument


@dataclass(frozen=True)
class StoredDocument:
    content_type: str
    content: bytes
    etag: str
    updated_at: datetime


def read_document(*, deployment_id: int, key: DocumentKey) -> StoredDocument | None:
    row = (
        XapiDocument.objects.filter(deployment_id=deployment_id, document_key=key.document_key)
        .values_list("content_type", "content", "etag", "updated_at")
        .first()
    )
    if row is None:
        return None
    content_type, content, etag, updated_at = row
    return StoredDocument(content_type, bytes(content), etag, updated_at)


def document_ids(
    *, deployment_id: int, key: DocumentKey, since: datetime | None = None
) -> list[str]:
    """The ids of the documents in `key`'s scope, stored or changed after `since` if given."""
    rows = XapiDocument.objects.filter(deployment_id=deployment_id, scope_key=key.scope_key)
    if since is not None:
        rows = rows.filter(updated_at__gt=since)
    return list(rows.order_by("updated_at", "pk").values_list("document_id", flat=True))


def put_document(
    *,
    deployment_id: int,
    key: DocumentKey,
    content_type: str,
    content: bytes,
    if_match: str = "",
    if_none_match: str = "",
    precondition_required: bool = False,
) -> None:
    """Store or replace the document, after checking preconditions (DocumentRefused)."""

    def write(current: XapiDocument | None) -> None:
        documents.check_preconditions(
            if_match=if_match,
            if_none_match=if_none_match,
            current=current.etag if current else None,
            required=precondition_required,
        )
        _save(deployment_id, key, current, content_type, content)

    _with_lock(deployment_id, key, write)


def post_document(
    *,
    deployment_id: int,
    key: DocumentKey,
    content_type: str,
    content: bytes,
    if_match: str = "",
    if_none_match: str = "",
) -> None:
    """Store the document, or merge it into the stored one (both JSON objects, else refused)."""

    def write(current: XapiDocument | None) -> None:
        documents.check_preconditions(
            if_match=if_match,
            if_none_match=if_none_match,
            current=current.etag if current else None,
            required=False,
        )
        if current is None:
            documents.check_new_json(content_type, content)
            _save(deployment_id, key, None, content_type, content)
            return
        merged_type, merged = documents.merged(
            stored_type=current.content_type,
            stored=bytes(current.content),
            new_type=content_type,
            new=content,
        )
        _save(deployment_id, key, current, merged_type, merged)

    _with_lock(deployment_id, key, write)


@transaction.atomic
def delete_documents(*, deployment_id: int, key: DocumentKey, if_match: str = "") -> None:
    """Delete the document (or, with no document id, every document of the scope)."""
    rows = XapiDocument.objects.filter(deployment_id=deployment_id)
    if key.document_id:
        rows = rows.filter(document_key=key.document_key)
        if if_match:
            current = rows.select_for_update().values_list("etag", flat=True).first()
            documents.check_preconditions(
                if_match=if_match, if_none_match="", current=current, required=False
            )
    else:
        rows = rows.filter(scope_key=key.scope_key)
    rows.delete()


def _with_lock(
    deployment_id: int, key: DocumentKey, write: Callable[[XapiDocument | None], None]
) -> None:
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                current = (
                    XapiDocument.objects.select_for_update()
                    .filter(deployment_id=deployment_id, document_key=key.document_key)
                    .first()
                )
                write(current)
                return
        except IntegrityError:
            if attempt == 2:
                raise


def _save(
    deployment_id: int,
    key: DocumentKey,
    current: XapiDocument | None,
    content_type: str,
    content: bytes,
) -> None:
    now = timezone.now()
    etag = documents.etag_of(content)
    if current is not None:
        XapiDocument.objects.filter(pk=current.pk).update(
            content_type=content_type, content=content, etag=etag, updated_at=now
        )
        return
    XapiDocument.objects.create(
        deployment_id=deployment_id,
        kind=key.kind,
        scope_key=key.scope_key,
        document_key=key.document_key,
        activity_id=key.activity_id,
        agent=dict(key.agent) if key.agent is not None else None,
        registration=key.registration or None,
        document_id=key.document_id,
        content_type=content_type,
        content=content,
        etag=etag,
        updated_at=now,
    )


__all__ = ["DocumentRefused", "StoredDocument"]
