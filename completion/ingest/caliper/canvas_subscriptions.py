"""Subscribe a Canvas root account to Live Events in Caliper format, sent to this tool.

LTI 1.3 tools subscribe through Canvas's Data Services API
(`POST /api/lti/accounts/:account_id/data_services`) with an LTI Advantage token of the
`data_services/scope/create` scope. Canvas accepts a subscription for a root account (its
UUID, `$vnd.Canvas.root_account.uuid`) or for one assignment, not for a course: events of every
course arrive, and the endpoint keeps those of the courses and people it knows (by the Canvas
ids launches store). Canvas cannot add headers to what it sends, so the delivery URL carries a
Caliper credential issued for this purpose (`?token=key.secret`); with
`FINISHLINE_CANVAS_LIVE_EVENTS_REQUIRE_SIGNED` the endpoint also wants the deliveries signed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import transaction

from lti_tool.keys import credentials
from lti_tool.models import Deployment
from lti_tool.platform_services.client import FinishlineServiceConnector, RetryPolicy

CREATE_SCOPE = "https://canvas.instructure.com/lti/data_services/scope/create"
DATA_SERVICES_MEDIA = "application/vnd.canvas.dataservices+json"
DEFAULT_EVENTS = (
    "asset_accessed",
    "logged_in",
    "logged_out",
    "submission_created",
    "submission_updated",
    "grade_change",
    "quiz_submitted",
    "discussion_entry_created",
    "discussion_topic_created",
    "wiki_page_updated",
)


@transaction.atomic
def subscribe_account(
    *,
    deployment: Deployment,
    api_base: str,
    account_id: str,
    root_account_uuid: str,
    event_types: Sequence[str] = DEFAULT_EVENTS,
    actor: str,
    policy: RetryPolicy | None = None,
) -> dict[str, Any]:
    """Create the subscription; returns Canvas's answer (with its subscription id)."""
    issued = credentials.issue_credential(
        deployment=deployment,
        kind="caliper",
        name=f"Canvas Live Events: account {account_id}",
        actor=actor,
    )
    url = (
        settings.TOOL_BASE_URL
        + "/caliper/events?"
        + urlencode({"token": f"{issued.key}.{issued.secret}"})
    )
    body = {
        "subscription": {
            "ContextId": root_account_uuid,
            "ContextType": "root_account",
            "EventTypes": list(event_types),
            "Format": "caliper",
            "TransportType": "https",
            "TransportMetadata": {"Url": url},
        }
    }
    endpoint = f"{api_base.rstrip('/')}/api/lti/accounts/{quote(account_id, safe='')}/data_services"
    page = FinishlineServiceConnector(deployment.platform, policy).request(
        "POST",
        endpoint,
        scopes=[CREATE_SCOPE],
        accept=f"{DATA_SERVICES_MEDIA}, application/json",
        body=body,
        content_type="application/json",
    )
    return dict(page.body or {})
