"""REST ingest for custom integrations: the import column sets as JSON, same validation.

`/api/v1/events` takes events; `/api/v1/history/<kind>` people, items or outcomes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from completion.events.store import store_events
from completion.ingest.files.records import PARSERS, import_rows
from completion.ingest.files.rows import RowError, parse_row
from completion.ingest.limits import InputRefused, parse_json
from completion.models import ImportBatch
from lti_tool.keys import credentials
from lti_tool.keys.credentials import Principal
from lti_tool.models import Deployment

DEFAULT_MAX_BODY = 5 * 1024 * 1024
MAX_EVENTS = 5000


class EventIngestApi(APIView):
    """POST a JSON list of events (the CSV/JSONL columns); stored all together or not at all.

    Authorization: `Token <key>.<secret>` of an API credential of the deployment.
    """

    class OutputSerializer(serializers.Serializer[Any]):
        stored = serializers.IntegerField()
        duplicate = serializers.IntegerField()
        pending = serializers.IntegerField()

    def post(self, request: Request) -> Response:
        read = _authorised_rows(request, "events")
        if isinstance(read, Response):
            return read
        principal, rows = read
        events, errors = [], []
        for index, row in enumerate(rows):
            try:
                if not isinstance(row, dict):
                    raise RowError("an event must be a JSON object")
                events.append(parse_row(row))
            except RowError as exc:
                errors.append({"index": index, "reason": str(exc)})
        if errors:
            return Response(
                {"error": "nothing stored", "rejected": errors}, status=status.HTTP_400_BAD_REQUEST
            )
        deployment = Deployment.objects.get(pk=principal.deployment_id)
        api_events = [e._replace(source="api") for e in events]
        with transaction.atomic():
            result = store_events(deployment=deployment, events=api_events)
        return Response(self.OutputSerializer(result).data, status=status.HTTP_201_CREATED)


class HistoryIngestApi(APIView):
    """POST a JSON list of people, items or outcomes rows (the columns of `import_events
    --kind`, docs/data-inputs.md); parsed and stored as the file import does, all or nothing,
    each call an import batch with its report. Same token, limits and errors as events."""

    def post(self, request: Request, kind: str) -> Response:
        if kind not in PARSERS:
            return Response(
                {"error": f"kind is one of {', '.join(PARSERS)}"}, status=status.HTTP_404_NOT_FOUND
            )
        read = _authorised_rows(request, f"{kind} rows")
        if isinstance(read, Response):
            return read
        principal, rows = read
        batch = import_rows(
            deployment=Deployment.objects.get(pk=principal.deployment_id),
            rows=rows,
            kind=kind,
            created_by=f"api:credential-{principal.credential_id}",
        )
        if batch.status != ImportBatch.Status.DONE:
            rejected = [{"index": r["line"] - 1, "reason": r["reason"]} for r in batch.rejected]
            return Response(
                {"error": "nothing stored", "batch": batch.pk, "rejected": rejected},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {
                "batch": batch.pk,
                "rows": batch.rows_total,
                "stored": batch.rows_stored,
                "unchanged": batch.rows_duplicate,
            },
            status=status.HTTP_201_CREATED,
        )


def _authorised_rows(request: Request, noun: str) -> Response | tuple[Principal, list[Any]]:
    """The API credential and the body's JSON list of rows, or the response refusing them."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    principal = credentials.authenticate_token(kind="api", token=header.removeprefix("Token "))
    if not header.startswith("Token ") or principal is None:
        return Response(
            {"error": "an API token of this deployment is required"},
            status=status.HTTP_401_UNAUTHORIZED,
        )
    if not credentials.allow_request(principal):
        return Response(
            {"error": "too many requests"},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": "60"},
        )
    limit = settings.FINISHLINE.get("API_MAX_BODY", DEFAULT_MAX_BODY)
    too_big = Response(
        {"error": f"the body is larger than {limit} bytes"},
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        return too_big
    if request.content_type.split(";")[0].strip() != "application/json":
        return Response(
            {"error": "Content-Type must be application/json"},
            status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    # Read and parsed here rather than by DRF's parser: within the JSON limits (depth,
    # text PostgreSQL can store) and this endpoint's body limit rather than Django's.
    body = request.stream.read(limit + 1) if request.stream is not None else b""
    if len(body) > limit:
        return too_big
    try:
        rows: Any = parse_json(body)
    except InputRefused as exc:
        return Response({"error": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if not isinstance(rows, list) or not rows or len(rows) > MAX_EVENTS:
        return Response(
            {"error": f"send a JSON list of 1 to {MAX_EVENTS} {noun}"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return principal, rows
