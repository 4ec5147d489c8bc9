"""Scoped reads: every fetch names the launch that asks, and fails closed.

`access_*` functions fetch and authorise in one call, raising Http404 for what the launch may
not see (so existence in another tenant is not revealed) and PermissionDenied for a role that
may not act.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from lti_tool.context import LaunchContext
from lti_tool.models import Course, Deployment, Membership, Person, Platform, Role

STAFF_ROLES = frozenset({Role.INSTRUCTOR, Role.TEACHING_ASSISTANT, Role.ADVISOR, Role.ADMIN})


def courses_for(launch: LaunchContext) -> QuerySet[Course]:
    return Course.objects.filter(deployment_id=launch.deployment_id)


def access_course(launch: LaunchContext, course_id: int, *, staff: bool = False) -> Course:
    """The course of this launch's deployment that the launch may see."""
    if launch.role != Role.ADMIN and launch.course_id != course_id:
        raise Http404("No such course.")
    if staff and launch.role not in STAFF_ROLES:
        raise PermissionDenied("Only course staff may open this page.")
    course = courses_for(launch).filter(pk=course_id).first()
    if course is None:
        raise Http404("No such course.")
    return course


def access_membership(launch: LaunchContext, membership_id: int) -> Membership:
    """A membership the launch may read: learners only their own, staff their course's."""
    membership = (
        Membership.objects.select_related("person__deployment__platform", "course")
        .defer("person__deployment__platform__openid_configuration")
        .filter(pk=membership_id, course__deployment_id=launch.deployment_id)
        .first()
    )
    if membership is None:
        raise Http404("No such learner.")
    if launch.role == Role.ADMIN:
        return membership
    if launch.role in STAFF_ROLES and membership.course_id == launch.course_id:
        return membership
    if membership.person_id == launch.person_id and membership.course_id == launch.course_id:
        return membership
    raise Http404("No such learner.")


def launch_person(launch: LaunchContext) -> Person:
    return Person.objects.select_related("deployment__platform").get(
        pk=launch.person_id, deployment_id=launch.deployment_id
    )


def deployment_of(launch: LaunchContext) -> Deployment:
    return Deployment.objects.select_related("platform").get(pk=launch.deployment_id)


def platforms_for_admin(launch: LaunchContext) -> QuerySet[Platform]:
    """An institution admin sees the platform of their own launch only."""
    # Other institutions may share the platform: show only this launch's deployment.
    own = Prefetch("deployments", queryset=Deployment.objects.filter(pk=launch.deployment_id))
    return Platform.objects.filter(pk=launch.platform_id).prefetch_related(own)
