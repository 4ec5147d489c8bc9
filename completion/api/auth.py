"""Authentication, scoping and the shared base of the read-only REST API (`/api/v1/`).

A caller presents an `api` credential of one deployment (`lti_tool.keys.credentials`) as
`Authorization: Token <key>.<secret>` (as the event-ingest endpoint takes it) or `Bearer`.
The credential's deployment scopes every read: another tenant's ids answer 404. This module
owns the token check, its rate limit, paging and the OpenAPI wiring; the endpoints live in
each app's `api/` package and only choose what to read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from lti_tool.keys import credentials
from lti_tool.keys.credentials import Principal
from lti_tool.models import Course

KEYWORDS = ("Token", "Bearer")
MAX_ID = 2**63 - 1  # the largest primary key the databases hold
MAX_OFFSET = 2**31 - 1
_M = TypeVar("_M", bound=Model)
_F = TypeVar("_F", bound=Callable[..., Any])


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token|Bearer <key>.<secret>` of an `api` credential; no header: None."""

    def authenticate(self, request: Request) -> tuple[None, Principal] | None:
        keyword, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if keyword not in KEYWORDS:
            return None
        principal = credentials.authenticate_token(kind="api", token=token.strip())
        if principal is None:
            raise AuthenticationFailed("The API token is invalid or revoked.")
        return None, principal

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="finishline"'


class HasApiToken(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, Principal)


class CredentialRateThrottle(BaseThrottle):
    """The credential's own per-minute limit (`credentials.allow_request`), shared with ingest."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        return not isinstance(request.auth, Principal) or credentials.allow_request(request.auth)

    def wait(self) -> float:
        return 60 - time.time() % 60


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "<key>.<secret>",
            "description": "An API credential of one deployment; `Token <key>.<secret>` works too.",
        }


def principal_of(request: Request) -> Principal:
    if not isinstance(request.auth, Principal):
        raise NotAuthenticated()
    return request.auth


def api_courses(principal: Principal) -> QuerySet[Course]:
    return Course.objects.filter(deployment_id=principal.deployment_id)


def access_api_course(principal: Principal, course_id: int) -> Course:
    """A course of the principal's deployment; anything else (another tenant's too) is 404."""
    course = api_courses(principal).filter(pk=course_id).first() if course_id <= MAX_ID else None
    if course is None:
        raise Http404("No such course.")
    return course


# --- paging, query parsing and the schema's common parts ---------------------------------------


def _bounded(request: Request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValidationError({name: [f"A whole number from {low} to {high}."]})
    return value


class ApiPagination(LimitOffsetPagination):
    """limit/offset paging that refuses values it cannot honour rather than guessing."""

    default_limit = 50
    max_limit = 500

    def get_limit(self, request: Request) -> int:
        return _bounded(request, self.limit_query_param, default=50, low=1, high=self.max_limit)

    def get_offset(self, request: Request) -> int:
        return _bounded(request, self.offset_query_param, default=0, low=0, high=MAX_OFFSET)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        limit = {"type": "integer", "minimum": 1, "maximum": self.max_limit, "default": 50}
        offset = {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}
        return [
            {"name": "limit", "in": "query", "required": False, "schema": limit},
            {"name": "offset", "in": "query", "required": False, "schema": offset},
        ]


def paginated(request: Request, rows: QuerySet[_M], render: Callable[[list[_M]], Any]) -> Response:
    """One page of `rows`, rendered, in the `{count, next, previous, results}` envelope."""
    paginator = ApiPagination()
    page = paginator.paginate_queryset(rows, request) or []
    return paginator.get_paginated_response(render(page))


def query_of(serializer_class: type[serializers.Serializer[Any]], request: Request) -> Any:
    """The validated query parameters; invalid ones answer 400 with reasons per parameter."""
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def api_schema(**kwargs: Any) -> Callable[[_F], _F]:
    """`extend_schema` for a view method, built on drf-spectacular's AutoSchema.

    `extend_schema` subclasses the method's own `schema` attribute when it has one, else REST
    framework's DEFAULT_SCHEMA_CLASS, which is not drf-spectacular's until settings say so.
    """

    def decorate(method: _F) -> _F:
        setattr(method, "schema", AutoSchema)  # noqa: B010
        return extend_schema(**kwargs)(method)

    return decorate


def path_id(name: str) -> OpenApiParameter:
    schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return OpenApiParameter(name, schema, OpenApiParameter.PATH)


class ErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()

    class Meta:
        ref_name = "Error"


INVALID_QUERY = OpenApiResponse(
    {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    description="Invalid query parameters, with the reasons per parameter.",
)


def responses(ok: Any, *, query: bool = True, not_found: bool = True) -> dict[int, Any]:
    """The responses of an operation: `ok`, then the errors every operation may answer."""
    found: dict[int, Any] = {200: ok}
    if query:
        found[400] = INVALID_QUERY
    found[401] = OpenApiResponse(ErrorSerializer, description="No, or an invalid, API token.")
    if not_found:
        found[404] = OpenApiResponse(ErrorSerializer, description="Not in this deployment.")
    found[429] = OpenApiResponse(ErrorSerializer, description="Over the credential's rate.")
    return found


class TenantApi(APIView):
    """Base of every v1 endpoint: an `api` token of one deployment, its rate limit, JSON."""

    authentication_classes: Sequence[type[BaseAuthentication]] = (ApiTokenAuthentication,)
    permission_classes: Sequence[type[BasePermission]] = (HasApiToken,)
    throttle_classes: Sequence[type[BaseThrottle]] = (CredentialRateThrottle,)
    renderer_classes = (JSONRenderer,)
    schema = AutoSchema()
