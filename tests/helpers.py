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


def session_token(context) -> str:
    """The secret of a launch session opened for `context`, as a launch opens one.

    Pages send it in the X-Finishline-Launch header (GET) or the POST body (`lt`). A launch
    records the membership in the role it launched with, so the membership takes that role
    here too (a session whose role the membership no longer has is refused).
    """
    from lti_tool.launch import sessions
    from lti_tool.models import Membership

    if context.membership_id:
        Membership.objects.filter(pk=context.membership_id).update(role=context.role)

    return sessions.open_session(context, binding="").token


def launch_header(token: str) -> dict[str, str]:
    """Test-client keyword arguments that send a launch session's secret as a page would."""
    return {"HTTP_X_FINISHLINE_LAUNCH": token}


def token_for(membership, role: str = "learner", *, course_id=OWN_COURSE) -> str:
    """A launch session's secret as a launch of `membership`'s course in `role` would open.

    `course_id=None` makes a launch outside any course (an admin's, a data-privacy request).
    """
    from lti_tool.context import LaunchContext

    course = membership.course
    return session_token(
        LaunchContext(
            deployment_id=course.deployment_id,
            platform_id=course.deployment.platform_id,
            person_id=membership.person_id,
            course_id=course.pk if course_id is OWN_COURSE else course_id,
            membership_id=membership.pk,
            role=role,
        )
    )
