"""The per-launch context carried by a signed launch token, not by a session cookie.

Third-party cookies are unreliable inside LMS iframes, so each page the tool renders carries
`lt`, a short signed token naming the launch (ids only). Pages pass it on in links, forms and
the X-Finishline-Launch header; a forged token or one past its age is refused, and every read
is scoped by the ids it carries (`selectors.access_*`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.conf import settings
from django.core import signing

SALT = "finishline.launch"


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

    def sign(self) -> str:
        return signing.dumps(asdict(self), salt=SALT, compress=True)

    @classmethod
    def from_token(cls, token: str) -> LaunchContext | None:
        try:
            data = signing.loads(
                token, salt=SALT, max_age=settings.FINISHLINE["LAUNCH_TOKEN_MAX_AGE"]
            )
            return cls(**data)
        except (signing.BadSignature, TypeError, ValueError):
            return None
