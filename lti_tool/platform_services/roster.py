"""Roster sync over NRPS 2.0: memberships, roles and statuses with their dates.

A full sync fetches every page first and applies them in one transaction, so a platform that
fails midway changes nothing; members missing from a complete listing are marked Deleted (their
rows stay, with the date). When the platform offered a `differences` link last time, the next
sync asks only for the changes since then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from lti_tool.claims import map_role
from lti_tool.models import Course, Membership, MembershipChange
from lti_tool.platform_services.client import RetryPolicy, membership_pages
from lti_tool.services import upsert_membership, upsert_person
from lti_tool.signals import roster_changed

STATUS = {
    "active": Membership.Status.ACTIVE,
    "inactive": Membership.Status.INACTIVE,
    "deleted": Membership.Status.DELETED,
}


@dataclass(frozen=True)
class RosterResult:
    members: int
    added: int
    changed: int
    removed: int
    differences_url: str
    incremental: bool


def sync_roster(
    course: Course,
    *,
    differences_url: str = "",
    now: datetime | None = None,
    policy: RetryPolicy | None = None,
) -> RosterResult:
    """Fetch the roster (all pages, or only the differences) and apply it atomically."""
    now = now or timezone.now()
    members: list[dict[str, Any]] = []
    next_differences = ""
    for page in membership_pages(course, url=differences_url or None, policy=policy):
        members.extend((page.body or {}).get("members", []))
        next_differences = page.differences_url or next_differences
    result = _apply(course, members, now=now, full=not differences_url)
    transaction.on_commit(
        lambda: roster_changed.send(
            sender=RosterResult, deployment_id=course.deployment_id, course_id=course.pk
        )
    )
    return RosterResult(
        len(members),
        result[0],
        result[1],
        result[2],
        next_differences,
        incremental=bool(differences_url),
    )


@transaction.atomic
def _apply(
    course: Course, members: list[dict[str, Any]], *, now: datetime, full: bool
) -> tuple[int, int, int]:
    before = {
        m.person.sub: (m.role, m.status)
        for m in Membership.objects.filter(course=course).select_related("person")
    }
    seen: set[str] = set()
    added = changed = 0
    for member in members:
        sub = str(member.get("user_id", ""))
        roles = [str(r) for r in member.get("roles", [])]
        role = map_role(roles)
        if not sub or role is None:
            continue
        seen.add(sub)
        status = STATUS.get(str(member.get("status", "Active")).lower(), Membership.Status.ACTIVE)
        person = upsert_person(
            deployment=course.deployment,
            sub=sub,
            name=str(member.get("name", "")),
            given_name=str(member.get("given_name", "")),
            family_name=str(member.get("family_name", "")),
            email=str(member.get("email", "")),
            sourced_id=str(member.get("lis_person_sourcedid", "")),
        )
        upsert_membership(
            course=course,
            person=person,
            role=role,
            lti_roles=roles,
            status=status,
            at=now,
            source=MembershipChange.Source.NRPS,
        )
        if sub not in before:
            added += 1
        elif before[sub] != (role, status):
            changed += 1
    removed = 0
    if full:
        for membership in (
            Membership.objects.filter(course=course)
            .exclude(status=Membership.Status.DELETED)
            .exclude(person__sub__in=seen)
            .select_related("person")
        ):
            upsert_membership(
                course=course,
                person=membership.person,
                role=membership.role,
                lti_roles=membership.lti_roles,
                status=Membership.Status.DELETED,
                at=now,
                source=MembershipChange.Source.NRPS,
            )
            removed += 1
    return added, changed, removed
