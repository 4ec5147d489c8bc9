"""Signals lti_tool sends upward, so apps above it learn of launches without being imported."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after a launch is recorded. kwargs: membership_id, resource_link_id, occurred_at, nonce.
launch_recorded = Signal()
# Sent after a roster sync changes who is enrolled. kwargs: deployment_id, course_id.
roster_changed = Signal()
