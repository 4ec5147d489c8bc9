"""Scheduled upkeep of file imports (see `batches`)."""

from __future__ import annotations

from completion.ingest.files.batches import sweep_stale_imports


def sweep_imports() -> int:
    """Mark imports that died while running as failed, with the reason."""
    return sweep_stale_imports()
