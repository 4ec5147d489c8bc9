"""Writes of the foundation: recording launches and roster entries, registering platforms.

Launch and roster upserts share `upsert_membership`, which records every role or status change
with its date. Registration and approval are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from lti_tool import claims as lti_claims
from lti_tool.audit.trail import append_audit
from lti_tool.context import LaunchContext
from lti_tool.launch.flow import ValidatedLaunch, forget_lookups
from lti_tool.models import (
    Course,
    Deployment,
    Membership,
    MembershipChange,
    Person,
    Platform,
    PlatformKeySet,
    ResourceLink,
    Role,
)
from lti_tool.signals import launch_recorded

# Custom-claim keys copied into Person.attributes for reporting.
REPORTING_ATTRIBUTES = (
    "department",
    "job_role",
    "location",
    "hire_cohort",
    "manager_email",
    "phone",
    "section",  # e.g. custom "section=$Canvas.course.sectionIds" or a Moodle group name
    "group",
)


@dataclass(frozen=True)
class RecordedLaunch:
    context: LaunchContext
    course: Course | None
    person: Person
    membership: Membership | None


@transaction.atomic(savepoint=False)  # inside the launch's transaction: no savepoint to pay
def record_launch(launch: ValidatedLaunch, *, now: datetime | None = None) -> RecordedLaunch:
    """Upsert course, person and membership from a validated launch; return its context."""
    now = now or timezone.now()
    claims = launch.claims
    person = upsert_person(
        deployment=launch.deployment,
        sub=claims.sub,
        name=claims.name,
        given_name=claims.given_name,
        family_name=claims.family_name,
        email=claims.email,
        sourced_id=claims.sourced_id,
        locale=claims.locale,
        attributes={k: claims.custom[k] for k in REPORTING_ATTRIBUTES if claims.custom.get(k)},
        canvas_user_id=lti_claims.canvas_id(claims.custom, "canvas_user_id"),
    )
    course = membership = None
    if claims.context_id:
        course = upsert_course(deployment=launch.deployment, claims=claims)
        membership, created = launch_membership(course=course, person=person, claims=claims, at=now)
        if claims.resource_link_id:
            link_values = {
                "title": claims.resource_link_title,
                "ags_lineitem_url": claims.services.ags_lineitem_url,
            }
            link, link_created = ResourceLink.objects.get_or_create(
                course=course, resource_link_id=claims.resource_link_id, defaults=link_values
            )
            if not link_created and any(getattr(link, k) != v for k, v in link_values.items()):
                ResourceLink.objects.filter(pk=link.pk).update(**link_values)
        # Inside the transaction: the launch event commits with the launch (one commit, and
        # never a recorded launch without its event).
        launch_recorded.send(
            sender=RecordedLaunch,
            membership=membership,
            membership_created=created,
            membership_id=membership.pk,
            resource_link_id=claims.resource_link_id,
            resource_link_title=claims.resource_link_title,
            occurred_at=now,
            nonce=str(launch.id_token.get("nonce", "")),
        )
    context = LaunchContext(
        deployment_id=launch.deployment.pk,
        platform_id=launch.platform.pk,
        person_id=person.pk,
        course_id=course.pk if course else None,
        membership_id=membership.pk if membership else None,
        role=claims.role,
        message_type=claims.message_type,
    )
    return RecordedLaunch(context=context, course=course, person=person, membership=membership)


def launch_membership(
    *, course: Course, person: Person, claims: lti_claims.LaunchClaims, at: datetime
) -> tuple[Membership, bool]:
    """The launch's membership with its last launch stamped; True when it was created.

    On PostgreSQL the common case (a member launching again in the same role) is one UPDATE
    that also returns the role and status it had; a change or a new member goes the long way.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE lti_tool_membership m SET last_launch_at = %s FROM ("
                " SELECT id, role, status FROM lti_tool_membership"
                " WHERE course_id = %s AND person_id = %s FOR UPDATE) old"
                " WHERE m.id = old.id RETURNING m.id, old.role, old.status",
                [at, course.pk, person.pk],
            )
            row = cursor.fetchone()
        if row is not None and row[1] == claims.role and row[2] == Membership.Status.ACTIVE:
            membership = Membership(
                pk=row[0], course=course, person=person, role=row[1], status=row[2]
            )
            membership.last_launch_at = at
            return membership, False
    existed = Membership.objects.filter(course=course, person=person).exists()
    membership = upsert_membership(
        course=course,
        person=person,
        role=claims.role,
        lti_roles=claims.lti_roles,
        status=Membership.Status.ACTIVE,
        at=at,
        source=MembershipChange.Source.LAUNCH,
    )
    Membership.objects.filter(pk=membership.pk).update(last_launch_at=at)
    return membership, not existed


def upsert_person(
    *, deployment: Deployment, sub: str, attributes: dict[str, str] | None = None, **fields: str
) -> Person:
    person, created = Person.objects.get_or_create(
        deployment=deployment, sub=sub, defaults={k: v for k, v in fields.items() if v}
    )
    changed = {k: v for k, v in fields.items() if v and getattr(person, k) != v}
    merged = {**person.attributes, **(attributes or {})}
    if not created and (changed or merged != person.attributes):
        for key, value in changed.items():
            setattr(person, key, value)
        person.attributes = merged
        person.save(update_fields=[*changed, "attributes", "updated_at"])
    elif created and attributes:
        person.attributes = merged
        person.save(update_fields=["attributes"])
    return person


def upsert_course(*, deployment: Deployment, claims: lti_claims.LaunchClaims) -> Course:
    services = claims.services
    values = {
        "title": claims.context_title,
        "label": claims.context_label,
        "nrps_url": services.nrps_url,
        "ags_lineitems_url": services.ags_lineitems_url,
        "ags_scopes": list(services.ags_scopes),
        "canvas_course_id": lti_claims.canvas_id(claims.custom, "canvas_course_id"),
    }
    course, created = Course.objects.get_or_create(
        deployment=deployment, context_id=claims.context_id, defaults=values
    )
    # Keep endpoints from earlier launches when a later launch (e.g. deep linking) omits them.
    changed = {k: v for k, v in values.items() if v and getattr(course, k) != v}
    if not created and changed:
        Course.objects.filter(pk=course.pk).update(**changed)
        for key, value in changed.items():
            setattr(course, key, value)
    return course


def upsert_membership(
    *,
    course: Course,
    person: Person,
    role: str,
    lti_roles: tuple[str, ...] | list[str],
    status: str,
    at: datetime,
    source: str,
) -> Membership:
    """Create or update a membership, recording each role or status change with its date."""
    membership, created = Membership.objects.get_or_create(
        course=course,
        person=person,
        defaults={
            "role": role,
            "lti_roles": list(lti_roles),
            "status": status,
            "enrolled_at": at,
            "status_changed_at": at,
        },
    )
    if created:
        MembershipChange.objects.create(
            membership=membership, field="status", new_value=status, changed_at=at, source=source
        )
        return membership
    changes = []
    for field in ("role", "status"):
        new = role if field == "role" else status
        old = getattr(membership, field)
        if old != new:
            changes.append(
                MembershipChange(
                    membership=membership,
                    field=field,
                    old_value=old,
                    new_value=new,
                    changed_at=at,
                    source=source,
                )
            )
            setattr(membership, field, new)
    if changes:
        MembershipChange.objects.bulk_create(changes)
        if any(c.field == "status" for c in changes):
            membership.status_changed_at = at
        membership.lti_roles = list(lti_roles)
        membership.save(update_fields=["role", "status", "status_changed_at", "lti_roles"])
        if any(c.field == "role" for c in changes):
            append_audit(
                actor=f"{source}:{person.sub}",
                action="membership.role_changed",
                obj=membership,
                deployment=course.deployment,
                data={c.field: [c.old_value, c.new_value] for c in changes},
            )
    return membership


@transaction.atomic
def register_platform(
    *,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    jwks_url: str,
    deployment_ids: list[str],
    actor: str,
    name: str = "",
    product: str = Platform.Product.OTHER,
    auth_token_audience: str = "",
    openid_configuration: dict[str, object] | None = None,
    requires_approval: bool = False,
) -> Platform:
    """Register (or update) a platform and its deployments. Audited.

    A platform already registered keeps its status: an active one that registers again (an
    LMS's "update") is updated in place, with its new endpoints and keys, and stays online;
    its deployments are kept and any new one takes the platform's status.
    """
    existing = Platform.objects.select_for_update().filter(issuer=issuer, client_id=client_id)
    current = existing.first()
    if current is not None:
        status = current.status
    else:
        status = Platform.Status.PENDING if requires_approval else Platform.Status.ACTIVE
    platform, created = Platform.objects.update_or_create(
        issuer=issuer,
        client_id=client_id,
        defaults={
            "name": name,
            "auth_login_url": auth_login_url,
            "auth_token_url": auth_token_url,
            "jwks_url": jwks_url,
            "product": product,
            "status": status,
            "auth_token_audience": auth_token_audience,
            "openid_configuration": openid_configuration or {},
        },
    )
    if current is not None and current.jwks_url != jwks_url:
        # New keys: the cached key set of the old URL must not verify launches any more.
        PlatformKeySet.objects.filter(platform=platform).delete()
    forget_lookups()
    for deployment_id in deployment_ids:
        Deployment.objects.get_or_create(
            platform=platform,
            deployment_id=deployment_id,
            defaults={"status": Deployment.Status(status)},
        )
    append_audit(
        actor=actor,
        action="platform.registered" if created else "platform.updated",
        obj=platform,
        data={
            "issuer": issuer,
            "client_id": client_id,
            "deployments": deployment_ids,
            "status": status,
        },
    )
    return platform


@transaction.atomic
def approve_platform(*, platform: Platform, actor: str) -> Platform:
    platform.status = Platform.Status.ACTIVE
    platform.save(update_fields=["status"])
    platform.deployments.update(status=Deployment.Status.ACTIVE)
    forget_lookups()
    append_audit(actor=actor, action="platform.approved", obj=platform)
    return platform


def role_landing(context: LaunchContext) -> str:
    """The URL name a launch lands on: its role's page (a learner's progress in a course)."""
    if context.role == Role.ADMIN:
        return "lti_tool:admin_home"
    if context.role == Role.LEARNER:
        # The learner's page lives with the progress it shows (completion), by URL name.
        return "completion_risk:my_progress" if context.membership_id else "lti_tool:learner_home"
    # Staff land on the course's Today page (interventions), by URL name.
    return "today:course" if context.course_id else "lti_tool:course_home"
