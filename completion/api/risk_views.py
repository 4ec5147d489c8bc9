"""REST API of progress and risk: per course, per learner, and a learner's history.

Authenticated by the signed launch token (`X-Finishline-Launch`), scoped with `access_*`:
staff see their course, learners only themselves. One APIView per operation.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from completion.risk import selectors as sel
from lti_tool import selectors
from lti_tool.context import LaunchContext


class LaunchRequired(APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = "Send the launch token in the X-Finishline-Launch header."
    default_code = "launch_required"


def launch_of(request: Request) -> LaunchContext:
    launch: LaunchContext | None = getattr(request._request, "launch", None)
    if launch is None:
        raise LaunchRequired()
    return launch


def as_of_of(request: Request) -> date | None:
    raw = request.query_params.get("as_of")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationError({"as_of": "use YYYY-MM-DD"}) from exc


class LearnerRowSerializer(serializers.Serializer[Any]):
    membership_id = serializers.IntegerField()
    person_id = serializers.IntegerField()
    name = serializers.CharField()
    as_of = serializers.DateField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    percent_complete = serializers.FloatField()
    expected_percent = serializers.FloatField()
    gap = serializers.FloatField()
    time_on_task_seconds = serializers.FloatField()
    score = serializers.FloatField(allow_null=True)
    tier = serializers.CharField()
    probability = serializers.FloatField()
    change = serializers.FloatField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())
    model_used = serializers.CharField()


class CourseRiskListApi(APIView):
    class OutputSerializer(serializers.Serializer[Any]):
        course_id = serializers.IntegerField()
        as_of = serializers.DateField(allow_null=True)
        learners = LearnerRowSerializer(many=True)

    def get(self, request: Request, course_id: int) -> Response:
        course = selectors.access_course(launch_of(request), course_id, staff=True)
        day, rows = sel.course_risk(course, as_of_of(request))
        return Response(
            self.OutputSerializer({"course_id": course.pk, "as_of": day, "learners": rows}).data
        )


class LearnerRiskDetailApi(APIView):
    class OutputSerializer(LearnerRowSerializer):
        class SignalSerializer(serializers.Serializer[Any]):
            code = serializers.CharField()
            value = serializers.FloatField(allow_null=True)
            threshold = serializers.FloatField()
            fired = serializers.BooleanField()

        class FiredSerializer(serializers.Serializer[Any]):
            code = serializers.CharField()
            value = serializers.FloatField(allow_null=True)
            threshold = serializers.FloatField()
            reason = serializers.CharField()

        due_on = serializers.DateField(allow_null=True)
        unmet = serializers.ListField(child=serializers.CharField())
        items_done = serializers.IntegerField()
        items_total = serializers.IntegerField()
        signals = SignalSerializer(many=True)
        fired = FiredSerializer(many=True)

    def get(self, request: Request, membership_id: int) -> Response:
        membership = selectors.access_membership(launch_of(request), membership_id)
        detail = sel.learner_risk(membership, as_of_of(request))
        if detail is None:
            return Response({"detail": "Not scored yet."}, status=status.HTTP_404_NOT_FOUND)
        return Response(self.OutputSerializer({**detail, **vars(detail["row"])}).data)


class LearnerRiskHistoryApi(APIView):
    class OutputSerializer(serializers.Serializer[Any]):
        as_of = serializers.DateField()
        tier = serializers.CharField()
        probability = serializers.FloatField()
        change = serializers.FloatField(allow_null=True)
        reasons = serializers.ListField(child=serializers.CharField())
        percent_complete = serializers.FloatField(allow_null=True)

    def get(self, request: Request, membership_id: int) -> Response:
        membership = selectors.access_membership(launch_of(request), membership_id)
        try:
            days = min(max(int(request.query_params.get("days", "90")), 1), 730)
        except ValueError as exc:
            raise ValidationError({"days": "a whole number"}) from exc
        history = sel.learner_history(membership, days=days)
        return Response(
            {
                "membership_id": membership.pk,
                "history": self.OutputSerializer(history, many=True).data,
            }
        )
