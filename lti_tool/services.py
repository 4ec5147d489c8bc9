"""Writes of the foundation: recording launches and roster entries, registering platforms.

Launch and roster upserts share `upsert_membership`, which records every role or status change
with its date. Registration and approval are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from lti_tool import claims as lti_claims
from lti_tool.audit.trail import append_audit
from lti_tool.context import LaunchContext
from lti_tool.db.bulk import columns_of, instance_of
from lti_tool.launch.flow import (
    ValidatedLaunch,
    consume_nonce,
    forget_lookups,
    nonce_row,
    platform_inactive,
    replayed,
)
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
    """Consume the launch's nonce; upsert person, course, membership and resource link.

    Call inside the transaction that commits the launch: a replayed nonce raises
    LaunchRejected and the caller's transaction rolls back. On PostgreSQL a returning learner
    costs one statement (`_launch_rows`); whatever it did not find, or found changed, goes
    through the upserts below.
    """
    now = now or timezone.now()
    claims = launch.claims
    found = _launch_rows(launch, now) if claims.context_id else None
    if found is None:
        consume_nonce(launch)
    person_fields = {
        "name": claims.name,
        "given_name": claims.given_name,
        "family_name": claims.family_name,
        "email": claims.email,
        "sourced_id": claims.sourced_id,
        "locale": claims.locale,
        "timezone": lti_claims.time_zone(claims.custom),
        "canvas_user_id": lti_claims.canvas_id(claims.custom, "canvas_user_id"),
    }
    attributes = {k: claims.custom[k] for k in REPORTING_ATTRIBUTES if claims.custom.get(k)}
    if found is not None and found.person is not None:
        person = found.person
        update_person(person, attributes=attributes, **person_fields)
    else:
        person = upsert_person(
            deployment=launch.deployment, sub=claims.sub, attributes=attributes, **person_fields
        )
    course = membership = None
    if claims.context_id:
        if found is not None and found.course is not None:
            course = found.course
            update_course(course, claims=claims)
        else:
            course = upsert_course(deployment=launch.deployment, claims=claims)
        stamped = found is not None and found.course is not None
        membership, created = launch_membership(
            course=course,
            person=person,
            claims=claims,
            at=now,
            stamped=found.membership if found is not None else None,
            already_stamped=stamped,
        )
        if claims.resource_link_id:
            _record_link(course, claims, found.link if found is not None else None)
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


@dataclass(frozen=True)
class _LaunchRows:
    """What one statement found of a launch's person, course, membership and resource link."""

    person: Person | None
    course: Course | None
    # (id, role before, status before) of the membership, whose last launch is now stamped.
    membership: tuple[int, str, str] | None
    link: tuple[int, str, str] | None  # (id, title, ags_lineitem_url)


def _launch_rows(launch: ValidatedLaunch, now: datetime) -> _LaunchRows | None:
    """On PostgreSQL, one statement: consume the nonce, read the person, the course and the
    resource link, and stamp the membership's last launch, returning its role and status as
    they were. None elsewhere (nothing done: the caller goes the long way)."""
    if connection.vendor != "postgresql":
        return None
    claims = launch.claims
    person_fields, person_columns = columns_of(Person, "p")
    course_fields, course_columns = columns_of(Course, "c")
    sql = (
        "WITH n AS (INSERT INTO lti_tool_usednonce (platform_id, nonce, expires_at)"
        " SELECT id, %s, %s FROM lti_tool_platform WHERE id = %s AND status = %s RETURNING id),"
        " p AS (SELECT * FROM lti_tool_person WHERE deployment_id = %s AND sub = %s),"
        " c AS (SELECT * FROM lti_tool_course WHERE deployment_id = %s AND context_id = %s),"
        " m AS (UPDATE lti_tool_membership mm SET last_launch_at = %s FROM ("
        "  SELECT id, role, status FROM lti_tool_membership"
        "  WHERE course_id = (SELECT id FROM c) AND person_id = (SELECT id FROM p) FOR UPDATE"
        " ) old WHERE mm.id = old.id RETURNING mm.id, old.role, old.status),"
        " l AS (SELECT id, title, ags_lineitem_url FROM lti_tool_resourcelink"
        "  WHERE course_id = (SELECT id FROM c) AND resource_link_id = %s)"
        f" SELECT (SELECT count(*) FROM n), {person_columns}, {course_columns},"
        " m.id, m.role, m.status, l.id, l.title, l.ags_lineitem_url"
        " FROM (SELECT 1) AS one LEFT JOIN p ON true LEFT JOIN c ON true"
        " LEFT JOIN m ON true LEFT JOIN l ON true"
    )
    nonce, expires = nonce_row(launch)
    params: list[Any] = [
        nonce,
        expires,
        launch.platform.pk,
        Platform.Status.ACTIVE,
        launch.deployment.pk,
        claims.sub,
        launch.deployment.pk,
        claims.context_id,
        now,
        claims.resource_link_id,
    ]
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except IntegrityError as exc:  # the nonce was used: the caller's transaction rolls back
        raise replayed() from exc
    assert row is not None  # one row always (`one`)
    if not row[0]:  # no nonce row: the platform was disabled since the launch's checks
        raise platform_inactive(launch.platform)
    values = tuple(row[1:])
    if values[0] is None:  # a person not seen yet (the nonce is consumed all the same)
        return _LaunchRows(person=None, course=None, membership=None, link=None)
    person = instance_of(Person, person_fields, values[: len(person_fields)])
    values = values[len(person_fields) :]
    course_values, values = values[: len(course_fields)], values[len(course_fields) :]
    course = instance_of(Course, course_fields, course_values) if course_values[0] else None
    return _LaunchRows(
        person=person,
        course=course,
        membership=(values[0], values[1], values[2]) if values[0] is not None else None,
        link=(values[3], values[4], values[5]) if values[3] is not None else None,
    )


def _record_link(
    course: Course, claims: lti_claims.LaunchClaims, found: tuple[int, str, str] | None
) -> None:
    values = {
        "title": claims.resource_link_title,
        "ags_lineitem_url": claims.services.ags_lineitem_url,
    }
    if found is not None:
        link_id, title, lineitem = found
        if (title, lineitem) != (values["title"], values["ags_lineitem_url"]):
            ResourceLink.objects.filter(pk=link_id).update(**values)
        return
    link, link_created = ResourceLink.objects.get_or_create(
        course=course, resource_link_id=claims.resource_link_id, defaults=values
    )
    if not link_created and any(getattr(link, k) != v for k, v in values.items()):
        ResourceLink.objects.filter(pk=link.pk).update(**values)


def launch_membership(
    *,
    course: Course,
    person: Person,
    claims: lti_claims.LaunchClaims,
    at: datetime,
    stamped: tuple[int, str, str] | None = None,
    already_stamped: bool = False,
) -> tuple[Membership, bool]:
    """The launch's membership with its last launch stamped; True when it was created.

    On PostgreSQL the common case (a member launching again in the same role) is one UPDATE
    that also returns the role and status it had (`stamped`, with `already_stamped` when the
    caller ran it); a change or a new member goes the long way.
    """
    row = stamped
    if not already_stamped and connection.vendor == "postgresql":
        already_stamped = True
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
        membership = Membership(pk=row[0], course=course, person=person, role=row[1], status=row[2])
        membership.last_launch_at = at
        return membership, False
    existed = row is not None or (
        not already_stamped and Membership.objects.filter(course=course, person=person).exists()
    )
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
    if not created:
        update_person(person, attributes=attributes, **fields)
    elif attributes:
        person.attributes = {**person.attributes, **attributes}
        person.save(update_fields=["attributes"])
    return person


def update_person(
    person: Person, *, attributes: dict[str, str] | None = None, **fields: str
) -> None:
    """Write what a launch or roster says differently of a person (blank values keep theirs)."""
    changed = {k: v for k, v in fields.items() if v and getattr(person, k) != v}
    merged = {**person.attributes, **(attributes or {})}
    if changed or merged != person.attributes:
        for key, value in changed.items():
            setattr(person, key, value)
        person.attributes = merged
        person.save(update_fields=[*changed, "attributes", "updated_at"])


def _course_values(claims: lti_claims.LaunchClaims) -> dict[str, Any]:
    services = claims.services
    return {
        "title": claims.context_title,
        "label": claims.context_label,
        "nrps_url": services.nrps_url,
        "ags_lineitems_url": services.ags_lineitems_url,
        "ags_scopes": list(services.ags_scopes),
        "canvas_course_id": lti_claims.canvas_id(claims.custom, "canvas_course_id"),
    }


def upsert_course(*, deployment: Deployment, claims: lti_claims.LaunchClaims) -> Course:
    course, created = Course.objects.get_or_create(
        deployment=deployment, context_id=claims.context_id, defaults=_course_values(claims)
    )
    if not created:
        update_course(course, claims=claims)
    return course


def update_course(course: Course, *, claims: lti_claims.LaunchClaims) -> None:
    """Keep endpoints from earlier launches when a later launch (e.g. deep linking) omits them."""
    changed = {k: v for k, v in _course_values(claims).items() if v and getattr(course, k) != v}
    if changed:
        Course.objects.filter(pk=course.pk).update(**changed)
        for key, value in changed.items():
            setattr(course, key, value)


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


# Staff landings of the placements deep linking and registration create (the custom parameter
# `finishline_placement`); learners always land on their own progress.
PLACEMENT_LANDINGS = {"progress": "completion_risk:dashboard"}


def role_landing(context: LaunchContext, placement: str = "") -> str:
    """The URL name a launch lands on: its role's page (a learner's progress in a course), or
    the page its placement was registered for."""
    if placement in PLACEMENT_LANDINGS and context.role != Role.LEARNER and context.course_id:
        return PLACEMENT_LANDINGS[placement]
    if context.role == Role.ADMIN:
        return "lti_tool:admin_home"
    if context.role == Role.LEARNER:
        # The learner's page lives with the progress it shows (completion), by URL name.
        return "completion_risk:my_progress" if context.membership_id else "lti_tool:learner_home"
    # Staff land on the course's Today page (interventions), by URL name.
    return "today:course" if context.course_id else "lti_tool:course_home"
