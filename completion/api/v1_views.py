"""REST API v1 of courses, learners (progress and risk) and the per-course completion report.

Authenticated by an `api` credential of one deployment (`completion.api.auth`); every read is
scoped to it. One APIView per operation; the reads below them return rows the serializers only
shape. Interventions and certificates have their own `api/` packages in their apps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from completion.api.auth import (
    MAX_ID,
    ApiPagination,
    TenantApi,
    access_api_course,
    api_courses,
    api_schema,
    paginated,
    path_id,
    principal_of,
    query_of,
    responses,
)
from completion.models import Progress, RiskScore
from completion.progress import criteria as crit
from completion.risk.selectors import latest_day, learner_history, learners_of
from completion.risk.signals import from_stored
from lti_tool.models import Course, Membership

NOT_SCORED = "not_scored"
STATUS_CHOICES = [(s, crit.DEFAULT_LABELS[s]) for s in crit.STATUSES]

# --- reads ------------------------------------------------------------------------------------


def _latest(model: type[Progress] | type[RiskScore], field: str) -> Subquery:
    newest = model.objects.filter(membership=OuterRef("pk")).order_by("-as_of")
    return Subquery(newest.values(field)[:1])


class _Latest(TypedDict):
    progress_id: int | None
    progress_status: str | None
    risk_id: int | None
    risk_tier: str | None


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    ScoredMembership = WithAnnotations[Membership, _Latest]


def learners_with_latest(
    course: Course, *, status: str = "", tier: str = "", search: str = ""
) -> QuerySet[ScoredMembership]:
    """The course's learners with the ids of their newest progress and risk rows, filtered."""
    found = (
        learners_of(course)
        .select_related("person")
        .annotate(
            progress_id=_latest(Progress, "pk"),
            progress_status=_latest(Progress, "status"),
            risk_id=_latest(RiskScore, "pk"),
            risk_tier=_latest(RiskScore, "tier"),
        )
        .order_by("pk")
    )
    if status:
        found = found.filter(progress_status=status)
    if tier:
        found = found.filter(risk_tier=tier)
    if search:
        found = found.filter(
            Q(person__name__icontains=search)
            | Q(person__email__icontains=search)
            | Q(person__sub__icontains=search)
        )
    return found


def _learner(
    m: Membership, progress: Progress | None, risk: RiskScore | dict[str, Any] | None
) -> dict[str, Any]:
    person = m.person
    return {
        "membership_id": m.pk,
        "person_id": person.pk,
        "name": person.name or person.email or person.sub,
        "email": person.email,
        "enrolment_status": m.status,
        "enrolled_at": m.enrolled_at,
        "progress": progress,
        "risk": risk,
    }


def learner_rows(page: list[ScoredMembership]) -> list[dict[str, Any]]:
    """A page of `learners_with_latest`, its progress and risk rows loaded in two queries."""
    progress = Progress.objects.in_bulk([m.progress_id for m in page if m.progress_id])
    risk = RiskScore.objects.in_bulk([m.risk_id for m in page if m.risk_id])
    return [_learner(m, progress.get(m.progress_id or 0), risk.get(m.risk_id or 0)) for m in page]


def access_api_learner(course: Course, membership_id: int) -> Membership:
    """A learner of this (already scoped) course; staff memberships and others are 404."""
    found = None
    if membership_id <= MAX_ID:
        found = learners_of(course).select_related("person").filter(pk=membership_id).first()
    if found is None:
        raise Http404("No such learner in this course.")
    return found


def _signals(risk: RiskScore) -> list[dict[str, Any]]:
    """Every signal evaluated that day (`RiskScore.signals`), with the reason of fired ones and
    of those that abstain because the course never produces their source."""
    return [
        {
            "code": r.code,
            "value": r.value,
            "threshold": r.threshold,
            "fired": r.fired,
            "reason": r.reason,
        }
        for r in sorted(from_stored(risk.signals), key=lambda r: r.code)
    ]


def learner_detail(m: Membership, *, days: int) -> dict[str, Any]:
    """A learner's newest progress, newest risk with every signal, and `days` of risk history."""
    progress = Progress.objects.filter(membership=m).order_by("-as_of").first()
    risk = RiskScore.objects.filter(membership=m).order_by("-as_of").first()
    scored = None if risk is None else {**vars(risk), "signals": _signals(risk)}
    return {**_learner(m, progress, scored), "history": learner_history(m, days=days)}


def course_facts(course: Course) -> dict[str, Any]:
    """The course's own fields, its learner count and its newest scored day."""
    return {
        **vars(course),
        "learners": learners_of(course).count(),
        "last_scored_on": latest_day(course),
    }


def course_report(course: Course) -> dict[str, Any]:
    """Learners by their newest status and tier, and the share of them who completed."""
    learners = learners_with_latest(course).order_by()
    statuses = {
        status or NOT_SCORED: n
        for status, n in learners.values_list("progress_status").annotate(n=Count("pk"))
    }
    tiers = {
        tier or NOT_SCORED: n
        for tier, n in learners.values_list("risk_tier").annotate(n=Count("pk"))
    }
    total = sum(statuses.values())
    completed = statuses.get(crit.COMPLETED, 0)
    return {
        "course_id": course.pk,
        "last_scored_on": latest_day(course),
        "learners": total,
        "completed": completed,
        "completion_rate": completed / total if total else 0.0,
        "by_status": {s: statuses.get(s, 0) for s in (*crit.STATUSES, NOT_SCORED)},
        "by_tier": {t: tiers.get(t, 0) for t in (*RiskScore.Tier.values, NOT_SCORED)},
    }


# --- serializers shared by several operations --------------------------------------------------


class CourseSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    context_id = serializers.CharField()
    title = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # the course's label, not Field.label
    created_at = serializers.DateTimeField()
    retired_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "Course"


class ProgressSerializer(serializers.Serializer[Any]):
    as_of = serializers.DateField()
    status = serializers.ChoiceField(choices=STATUS_CHOICES)
    status_label = serializers.CharField()
    criteria_met = serializers.BooleanField()
    percent_complete = serializers.FloatField()
    expected_percent = serializers.FloatField()
    gap = serializers.FloatField(help_text="Expected minus actual, in percentage points.")
    items_done = serializers.IntegerField()
    items_total = serializers.IntegerField()
    time_on_task_seconds = serializers.FloatField()
    score = serializers.FloatField(allow_null=True)
    due_on = serializers.DateField(allow_null=True)
    unmet = serializers.ListField(child=serializers.CharField())

    class Meta:
        ref_name = "Progress"


class RiskSerializer(serializers.Serializer[Any]):
    as_of = serializers.DateField()
    tier = serializers.ChoiceField(choices=RiskScore.Tier.choices)
    probability = serializers.FloatField(help_text="Of completing, 0..1.")
    change = serializers.FloatField(allow_null=True, help_text="Since the day before.")
    reasons = serializers.ListField(child=serializers.CharField())
    model_used = serializers.CharField()

    class Meta:
        ref_name = "Risk"


class LearnerSerializer(serializers.Serializer[Any]):
    membership_id = serializers.IntegerField()
    person_id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    enrolment_status = serializers.ChoiceField(choices=Membership.Status.choices)
    enrolled_at = serializers.DateTimeField()
    progress = ProgressSerializer(allow_null=True)
    risk = RiskSerializer(allow_null=True)

    class Meta:
        ref_name = "Learner"


# --- operations -------------------------------------------------------------------------------


class CourseListApi(TenantApi):
    pagination_class = ApiPagination

    class InputSerializer(serializers.Serializer[Any]):
        retired = serializers.BooleanField(required=False, allow_null=True, default=None)

    @api_schema(
        operation_id="course_list",
        tags=["courses"],
        parameters=[InputSerializer],
        responses=responses(CourseSerializer(many=True), not_found=False),
    )
    def get(self, request: Request) -> Response:
        retired = query_of(self.InputSerializer, request)["retired"]
        found = api_courses(principal_of(request)).order_by("pk")
        if retired is not None:
            found = found.filter(retired_at__isnull=not retired)
        return paginated(request, found, lambda page: CourseSerializer(page, many=True).data)


class CourseDetailApi(TenantApi):
    class OutputSerializer(CourseSerializer):
        learners = serializers.IntegerField(help_text="Enrolled learners, not deleted.")
        last_scored_on = serializers.DateField(allow_null=True)

        class Meta:
            ref_name = "CourseDetail"

    @api_schema(
        operation_id="course_detail",
        tags=["courses"],
        parameters=[path_id("course_id")],
        responses=responses(OutputSerializer, query=False),
    )
    def get(self, request: Request, course_id: int) -> Response:
        course = access_api_course(principal_of(request), course_id)
        return Response(self.OutputSerializer(course_facts(course)).data)


class LearnerListApi(TenantApi):
    pagination_class = ApiPagination

    class InputSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(
            choices=STATUS_CHOICES, required=False, help_text="The newest progress status."
        )
        tier = serializers.ChoiceField(
            choices=RiskScore.Tier.choices, required=False, help_text="The newest risk tier."
        )
        search = serializers.CharField(
            required=False, allow_blank=True, max_length=200, help_text="Name, email or LTI sub."
        )

    @api_schema(
        operation_id="learner_list",
        tags=["learners"],
        description="The course's learners, each with their newest progress and risk.",
        parameters=[path_id("course_id"), InputSerializer],
        responses=responses(LearnerSerializer(many=True)),
    )
    def get(self, request: Request, course_id: int) -> Response:
        course = access_api_course(principal_of(request), course_id)
        found = learners_with_latest(course, **query_of(self.InputSerializer, request))
        return paginated(
            request, found, lambda page: LearnerSerializer(learner_rows(page), many=True).data
        )


class LearnerDetailApi(TenantApi):
    class InputSerializer(serializers.Serializer[Any]):
        days = serializers.IntegerField(
            required=False, default=90, min_value=1, max_value=730, help_text="Days of history."
        )

    class OutputSerializer(LearnerSerializer):
        class RiskDetailSerializer(RiskSerializer):
            class SignalSerializer(serializers.Serializer[Any]):
                code = serializers.CharField()
                value = serializers.FloatField(allow_null=True)
                threshold = serializers.FloatField()
                fired = serializers.BooleanField()
                reason = serializers.CharField(
                    help_text="Why it fired, or why it abstains; empty otherwise."
                )

                class Meta:
                    ref_name = "Signal"

            signals = SignalSerializer(many=True)

            class Meta:
                ref_name = "RiskDetail"

        class HistorySerializer(serializers.Serializer[Any]):
            as_of = serializers.DateField()
            tier = serializers.ChoiceField(choices=RiskScore.Tier.choices)
            probability = serializers.FloatField()
            change = serializers.FloatField(allow_null=True)
            reasons = serializers.ListField(child=serializers.CharField())
            percent_complete = serializers.FloatField(allow_null=True)

            class Meta:
                ref_name = "RiskHistoryDay"

        risk = RiskDetailSerializer(allow_null=True)
        history = HistorySerializer(many=True, help_text="Oldest first.")

        class Meta:
            ref_name = "LearnerDetail"

    @api_schema(
        operation_id="learner_detail",
        tags=["learners"],
        parameters=[path_id("course_id"), path_id("membership_id"), InputSerializer],
        responses=responses(OutputSerializer),
    )
    def get(self, request: Request, course_id: int, membership_id: int) -> Response:
        course = access_api_course(principal_of(request), course_id)
        membership = access_api_learner(course, membership_id)
        days = query_of(self.InputSerializer, request)["days"]
        return Response(self.OutputSerializer(learner_detail(membership, days=days)).data)


class CourseReportApi(TenantApi):
    class OutputSerializer(serializers.Serializer[Any]):
        class ByStatusSerializer(serializers.Serializer[Any]):
            not_started = serializers.IntegerField()
            in_progress = serializers.IntegerField()
            completed = serializers.IntegerField()
            overdue = serializers.IntegerField()
            locked = serializers.IntegerField()
            not_scored = serializers.IntegerField()

            class Meta:
                ref_name = "CountsByStatus"

        class ByTierSerializer(serializers.Serializer[Any]):
            green = serializers.IntegerField()
            yellow = serializers.IntegerField()
            red = serializers.IntegerField()
            not_scored = serializers.IntegerField()

            class Meta:
                ref_name = "CountsByTier"

        course_id = serializers.IntegerField()
        last_scored_on = serializers.DateField(allow_null=True)
        learners = serializers.IntegerField(help_text="Enrolled learners, not deleted.")
        completed = serializers.IntegerField()
        completion_rate = serializers.FloatField(help_text="completed / learners, 0..1.")
        by_status = ByStatusSerializer(help_text="By each learner's newest status.")
        by_tier = ByTierSerializer(help_text="By each learner's newest risk tier.")

        class Meta:
            ref_name = "CourseReport"

    @api_schema(
        operation_id="course_report",
        tags=["reports"],
        parameters=[path_id("course_id")],
        responses=responses(OutputSerializer, query=False),
    )
    def get(self, request: Request, course_id: int) -> Response:
        course = access_api_course(principal_of(request), course_id)
        return Response(self.OutputSerializer(course_report(course)).data)
