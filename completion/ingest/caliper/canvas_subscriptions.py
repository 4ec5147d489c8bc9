"""Subscribe a Canvas course (or account) to Live Events in Caliper format, sent to us.

Canvas's Live Events Data Services API takes a subscription with an LTI Advantage token of
the `data_services/scope/create` scope. Canvas cannot add headers to what it sends, so the
subscription URL carries a Caliper credential issued for this purpose (`?token=key.secret`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction

from lti_tool.keys import credentials
from lti_tool.models import Course
from lti_tool.platform_services.client import RetryPolicy, connector_for

CREATE_SCOPE = "https://canvas.instructure.com/lti/data_services/scope/create"
DEFAULT_EVENTS = (
    "asset_accessed",
    "logged_in",
    "logged_out",
    "submission_created",
    "grade_change",
    "quiz_submitted",
    "discussion_entry_created",
    "wiki_page_updated",
)


@transaction.atomic
def subscribe_course(
    *,
    course: Course,
    api_base: str,
    context_type: str = "course",
    context_id: str = "",
    event_types: Sequence[str] = DEFAULT_EVENTS,
    actor: str,
    policy: RetryPolicy | None = None,
) -> dict[str, Any]:
    """Create the subscription; returns Canvas's answer (with its subscription id)."""
    issued = credentials.issue_credential(
        deployment=course.deployment,
        kind="caliper",
        name=f"Canvas Live Events: {course}",
        actor=actor,
    )
    url = (
        settings.TOOL_BASE_URL
        + "/caliper/events?"
        + urlencode({"token": f"{issued.key}.{issued.secret}"})
    )
    body = {
        "subscription": {
            "ContextId": context_id or course.context_id,
            "ContextType": context_type,
            "EventTypes": list(event_types),
            "Format": "caliper",
            "TransportType": "https",
            "TransportMetadata": {"Url": url},
        }
    }
    page = connector_for(course, policy).request(
        "POST",
        api_base.rstrip("/") + "/api/lti/subscriptions",
        scopes=[CREATE_SCOPE],
        accept="application/json",
        body=body,
        content_type="application/json",
    )
    return dict(page.body or {})
