"""Seed the demo LMS: its platform registration, a course, an instructor, an admin, learners."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from lti_tool.demo import platform as demo
from lti_tool.keys import tool as keys
from lti_tool.models import Course, Deployment, Membership, MembershipChange, Role
from lti_tool.services import register_platform, upsert_membership, upsert_person


class Command(BaseCommand):
    help = "Create the demo platform, course and people (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        keys.ensure_keys()
        demo.private_key()
        base = demo.issuer()
        platform = register_platform(
            issuer=base,
            client_id=demo.CLIENT_ID,
            name="Demo LMS",
            auth_login_url=base + "/auth/",
            auth_token_url=base + "/token/",
            jwks_url=base + "/jwks/",
            deployment_ids=[demo.DEPLOYMENT_ID],
            actor="seed_demo",
        )
        deployment = Deployment.objects.get(platform=platform, deployment_id=demo.DEPLOYMENT_ID)
        course, _ = Course.objects.get_or_create(
            deployment=deployment,
            context_id=demo.CONTEXT_ID,
            defaults={"title": "Workplace Safety 101", "label": "SAFE101"},
        )
        now = timezone.now()
        roles = {
            demo.INSTRUCTOR_SUB: Role.INSTRUCTOR,
            **dict.fromkeys(demo.LEARNER_SUBS, Role.LEARNER),
        }
        for sub, role in roles.items():
            name, email = demo.PEOPLE[sub]
            person = upsert_person(deployment=deployment, sub=sub, name=name, email=email)
            upsert_membership(
                course=course,
                person=person,
                role=role,
                lti_roles=demo.ROLE_URIS[role if role != Role.ADMIN else "admin"],
                status=Membership.Status.ACTIVE,
                at=now,
                source=MembershipChange.Source.ADMIN,
            )
        name, email = demo.PEOPLE[demo.ADMIN_SUB]
        upsert_person(deployment=deployment, sub=demo.ADMIN_SUB, name=name, email=email)
        self.stdout.write(f"Demo ready: course {course.title!r}, {len(roles)} members.")
