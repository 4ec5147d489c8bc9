"""The per-launch context: which deployment, person, course and role a request acts for.

It is what a launch session (`lti_tool.launch.sessions`) resolves to on each request, ids
only; every read is scoped by those ids (`selectors.access_*`). It carries no secret.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LaunchContext:
    deployment_id: int
    platform_id: int
    person_id: int
    course_id: int | None
    membership_id: int | None
    role: str
    message_type: str = "LtiResourceLinkRequest"
    # The origin of the LMS page framing this launch, from the signed launch_presentation
    # return_url; with the platform's registered origins it makes the page's frame-ancestors.
    frame_origin: str = ""
    # The launch session this context was resolved from (0 before one is opened).
    session_id: int = 0
