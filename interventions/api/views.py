"""REST API v1 of a course's interventions: playbook steps per learner, and the outbox.

Scoped like the rest of `/api/v1/` (`completion.api.auth`). Messages are shown by channel and
status only: addresses (a chat webhook URL is a secret) and bodies stay in the tool.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from completion.api.auth import (
    MAX_ID,
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
from interventions.models import Channel, Intervention, OutboundMessage
from lti_tool.models import Course, Person

# --- reads ------------------------------------------------------------------------------------


def course_interventions(
    course: Course, *, status: str = "", playbook: str = "", membership: int | None = None
) -> QuerySet[Intervention]:
    found = (
        Intervention.objects.filter(course=course)
        .select_related("membership__person")
        .order_by("-planned_at", "-pk")
    )
    if status:
        found = found.filter(status=status)
    if playbook:
        found = found.filter(playbook=playbook)
    if membership is not None:
        found = found.filter(membership_id=membership)
    return found


def course_messages(
    course: Course, *, status: str = "", channel: str = "", membership: int | None = None
) -> QuerySet[OutboundMessage]:
    found = OutboundMessage.objects.filter(course=course).order_by("-created_at", "-pk")
    if status:
        found = found.filter(status=status)
    if channel:
        found = found.filter(channel=channel)
    if membership is not None:
        found = found.filter(membership_id=membership)
    return found


def _message_prefix(step: Intervention) -> str:
    # The planner keys a step's messages `iv:<membership>:<step>:<episode>:<channel…>`.
    return f"iv:{step.membership_id}:{step.step}:{step.episode}:"


def intervention_rows(course: Course, page: list[Intervention]) -> list[dict[str, Any]]:
    """A page of interventions, each with the messages its step queued (one query)."""
    by_membership: dict[int, list[Intervention]] = defaultdict(list)
    for step in page:
        by_membership[step.membership_id].append(step)
    sent: dict[int, list[OutboundMessage]] = defaultdict(list)
    for message in OutboundMessage.objects.filter(
        course=course, membership_id__in=list(by_membership), idempotency_key__startswith="iv:"
    ).order_by("created_at", "pk"):
        for step in by_membership[message.membership_id or 0]:
            if message.idempotency_key.startswith(_message_prefix(step)):
                sent[step.pk].append(message)
    return [
        {**vars(step), "learner": _name(step.membership.person), "messages": sent[step.pk]}
        for step in page
    ]


def _name(person: Person) -> str:
    return person.name or person.email or person.sub


# --- operations -------------------------------------------------------------------------------


class MessageSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    membership_id = serializers.IntegerField(allow_null=True)
    channel = serializers.ChoiceField(choices=Channel.choices)
    status = serializers.ChoiceField(choices=OutboundMessage.Status.choices)
    subject = serializers.CharField()
    reason = serializers.CharField(help_text="What caused it, e.g. `playbook:<step>`.")
    attempts = serializers.IntegerField()
    not_before = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "Message"


class InterventionListApi(TenantApi):
    pagination_class = ApiPagination

    class InputSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=Intervention.Status.choices, required=False)
        playbook = serializers.CharField(required=False, allow_blank=True, max_length=40)
        membership = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)

    class OutputSerializer(serializers.Serializer[Any]):
        id = serializers.IntegerField()
        membership_id = serializers.IntegerField()
        learner = serializers.CharField()
        playbook = serializers.CharField()
        step = serializers.CharField()
        episode = serializers.CharField()
        tier = serializers.IntegerField()
        channels = serializers.ListField(child=serializers.CharField())
        status = serializers.ChoiceField(choices=Intervention.Status.choices)
        detail = serializers.CharField(help_text="Why it was held back, when it was.")
        arm = serializers.CharField(help_text="The experiment arm; empty outside experiments.")
        planned_at = serializers.DateTimeField()
        send_at = serializers.DateTimeField(allow_null=True)
        reengaged_48h = serializers.BooleanField(allow_null=True)
        reengaged_7d = serializers.BooleanField(allow_null=True)
        messages = MessageSerializer(many=True)

        class Meta:
            ref_name = "Intervention"

    @api_schema(
        operation_id="intervention_list",
        tags=["interventions"],
        description="Playbook steps per learner, newest first, with the messages each queued.",
        parameters=[path_id("course_id"), InputSerializer],
        responses=responses(OutputSerializer(many=True)),
    )
    def get(self, request: Request, course_id: int) -> Response:
        course = access_api_course(principal_of(request), course_id)
        found = course_interventions(course, **query_of(self.InputSerializer, request))
        return paginated(
            request,
            found,
            lambda page: self.OutputSerializer(intervention_rows(course, page), many=True).data,
        )


class MessageListApi(TenantApi):
    pagination_class = ApiPagination

    class InputSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=OutboundMessage.Status.choices, required=False)
        channel = serializers.ChoiceField(choices=Channel.choices, required=False)
        membership = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)

    @api_schema(
        operation_id="message_list",
        tags=["interventions"],
        description="The course's outbox, newest first: playbook steps, reminders, staff notes.",
        parameters=[path_id("course_id"), InputSerializer],
        responses=responses(MessageSerializer(many=True)),
    )
    def get(self, request: Request, course_id: int) -> Response:
        course = access_api_course(principal_of(request), course_id)
        found = course_messages(course, **query_of(self.InputSerializer, request))
        return paginated(request, found, lambda page: MessageSerializer(page, many=True).data)
