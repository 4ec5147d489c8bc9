"""REST API v1 of a course's certificates, filterable by status and issue dates.

Scoped like the rest of `/api/v1/` (`completion.api.auth`). The status filter runs in SQL and
agrees with `selectors.certificate_status`, which names each row's status.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from certificates import eligibility
from certificates.models import Certificate
from certificates.selectors import certificate_status, public_url
from completion.api.auth import (
    ApiPagination,
    TenantApi,
    access_api_course,
    api_schema,
    paginated,
    path_id,
    principal_of,
    query_of,
    responses,
)
from lti_tool.models import Course

STATUSES = (
    eligibility.VALID,
    eligibility.RENEWAL_REQUIRED,
    eligibility.EXPIRED,
    eligibility.REVOKED,
    eligibility.PENDING,
)

# --- reads ------------------------------------------------------------------------------------


def _status_filter(status: str, now: datetime) -> Q:
    """The SQL twin of `eligibility.status_of`."""
    live = Q(revoked_at__isnull=True) & ~Q(signature="")
    unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    before_renewal = Q(renewal_from__isnull=True) | Q(renewal_from__gt=now)
    return {
        eligibility.REVOKED: Q(revoked_at__isnull=False),
        eligibility.PENDING: Q(revoked_at__isnull=True, signature=""),
        eligibility.EXPIRED: live & Q(expires_at__lte=now),
        eligibility.RENEWAL_REQUIRED: live & unexpired & ~before_renewal,
        eligibility.VALID: live & unexpired & before_renewal,
    }[status]


def course_certificates(
    course: Course,
    *,
    now: datetime,
    status: str = "",
    issued_from: date | None = None,
    issued_to: date | None = None,
) -> QuerySet[Certificate]:
    """The course's certificates (not tracks'), newest first."""
    found = Certificate.objects.filter(course=course).order_by("-issued_at", "-pk")
    if status:
        found = found.filter(_status_filter(status, now))
    if issued_from:
        found = found.filter(issued_at__date__gte=issued_from)
    if issued_to:
        found = found.filter(issued_at__date__lte=issued_to)
    return found


def certificate_rows(page: list[Certificate], *, now: datetime) -> list[dict[str, Any]]:
    return [
        {**vars(c), "status": certificate_status(c, now=now), "verify_url": public_url(c)}
        for c in page
    ]


# --- operations -------------------------------------------------------------------------------


class CertificateListApi(TenantApi):
    pagination_class = ApiPagination

    class InputSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=STATUSES, required=False)
        issued_from = serializers.DateField(required=False, help_text="Issued on or after.")
        issued_to = serializers.DateField(required=False, help_text="Issued on or before.")

    class OutputSerializer(serializers.Serializer[Any]):
        id = serializers.IntegerField()
        serial = serializers.CharField()
        membership_id = serializers.IntegerField(allow_null=True)
        person_id = serializers.IntegerField()
        learner_name = serializers.CharField()
        title = serializers.CharField()
        hours = serializers.FloatField(allow_null=True)
        score = serializers.FloatField(allow_null=True, help_text="0..1")
        issued_at = serializers.DateTimeField()
        expires_at = serializers.DateTimeField(allow_null=True)
        renewal_from = serializers.DateTimeField(allow_null=True)
        status = serializers.ChoiceField(choices=STATUSES)
        revoked_at = serializers.DateTimeField(allow_null=True)
        revoked_reason = serializers.CharField()
        verify_url = serializers.URLField(help_text="The public verification page.")

        class Meta:
            ref_name = "Certificate"

    @api_schema(
        operation_id="certificate_list",
        tags=["certificates"],
        description="The course's certificates, newest first.",
        parameters=[path_id("course_id"), InputSerializer],
        responses=responses(OutputSerializer(many=True)),
    )
    def get(self, request: Request, course_id: int) -> Response:
        course = access_api_course(principal_of(request), course_id)
        now = timezone.now()
        found = course_certificates(course, now=now, **query_of(self.InputSerializer, request))
        return paginated(
            request,
            found,
            lambda page: self.OutputSerializer(certificate_rows(page, now=now), many=True).data,
        )
