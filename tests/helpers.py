"""Small helpers shared by tests of several apps."""

from __future__ import annotations

from django.db import connection


def subprocess_database_url() -> str:
    """The URL of the test database, for a subprocess (a worker we kill, an import we interrupt)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user, host = db["USER"] or "postgres", db["HOST"] or "127.0.0.1"
    return f"postgres://{user}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


OWN_COURSE = object()


def token_for(membership, role: str = "learner", *, course_id=OWN_COURSE) -> str:
    """A signed launch token (`lt`) as a launch of `membership`'s course in `role` would make.

    `course_id=None` makes a launch outside any course (an admin's, a data-privacy request).
    """
    from lti_tool.context import LaunchContext

    course = membership.course
    return LaunchContext(
        deployment_id=course.deployment_id,
        platform_id=course.deployment.platform_id,
        person_id=membership.person_id,
        course_id=course.pk if course_id is OWN_COURSE else course_id,
        membership_id=membership.pk,
        role=role,
    ).sign()
