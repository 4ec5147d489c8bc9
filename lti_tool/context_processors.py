"""What every page needs: the launch's session secret and URL, the navigation, a confirmation.

The navigation bar that stays on every page is drawn per role: given the launch's role,
whether it is in a course and the request path, `nav` returns the links (labels and URLs)
and which one is current. Actions redirect with `?done=<code>`; `confirmation` turns the code
into the sentence shown at the top of the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

from lti_tool.context import LaunchContext

INSTRUCTOR_NAV: tuple[tuple[str, str, str], ...] = (
    # (label, URL name, query string)
    ("Today", "today:course", ""),
    ("Learners", "completion_risk:dashboard", ""),
    ("Interventions", "interventions:course", ""),
    ("Certificates", "certificates:course", ""),
    ("Reports", "reports:compliance", ""),
    ("Outcomes", "business:course", ""),
    ("Settings", "completion_risk:criteria", ""),
)
LEARNER_NAV: tuple[tuple[str, str, str], ...] = (
    ("My progress", "completion_risk:my_progress", ""),
    ("Certificates", "certificates:mine", ""),
    ("Pause", "interventions:pause", ""),
    ("My data", "lti_tool:my_data", ""),
)
ADMIN_NAV: tuple[tuple[str, str, str], ...] = (
    ("Institution", "lti_tool:admin_home", ""),
    ("Registrations", "console:home", ""),
    ("Reports", "reports:compliance", "scope=all"),
    ("Audit", "reports:audit", ""),
    ("Settings", "business:settings", ""),
)
STAFF = frozenset({"instructor", "ta", "advisor"})

# Which pages belong to which link when the path is not the link itself (the longest prefix wins).
SECTIONS: dict[str, tuple[str, ...]] = {
    "Learners": ("/course/risk/", "/messages/course/learners/", "/course/learners/"),
    "Interventions": ("/messages/course/",),
    "Certificates": ("/certificates/course/", "/certificates/mine/"),
    "Reports": ("/reports/compliance/", "/reports/hr-roster/", "/course/overview/"),
    "Outcomes": ("/business/course/", "/business/next/", "/business/deployment/records/"),
    "Settings": ("/course/criteria/", "/business/deployment/settings/"),
    "Today": ("/course/today/", "/course/"),
    "Registrations": ("/console/",),
    "Institution": ("/institution/", "/business/deployment/"),
    "Audit": ("/reports/audit/",),
}

CONFIRMATIONS = {
    "status": "Status saved. The learner's record shows who changed it and why.",
    "criteria": (
        "Completion criteria saved. Re-scoring every learner has started; the Learners page "
        "shows their progress and risk under the new criteria as soon as it finishes."
    ),
    "paused": "Your pause is saved. No reminders reach you until the date you chose.",
    "resumed": "Welcome back: your pause has ended and reminders resume.",
    "export": "Your export is being prepared; it appears below when it is ready.",
    "sent": "Message queued for sending.",
    "revised": "Your schedule is revised: your finish date and expected pace follow it.",
}


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


def links_for(role: str, *, in_course: bool) -> tuple[tuple[str, str, str], ...]:
    if role == "learner":
        return LEARNER_NAV
    if role in STAFF or (role == "admin" and in_course):
        return INSTRUCTOR_NAV
    if role == "admin":
        return ADMIN_NAV
    return ()


def current_label(path: str, labels: list[str], own: dict[str, str]) -> str:
    """The link the page at `path` belongs to: its own URL, else the longest section prefix."""
    for label in labels:
        if own.get(label) == path:
            return label
    best, length = "", 0
    for label in labels:
        for prefix in SECTIONS.get(label, ()):
            if path.startswith(prefix) and len(prefix) > length:
                best, length = label, len(prefix)
    return best


# The nav's URLs take no arguments: each is reversed once per process (per URLconf and
# script prefix, which a request or a test may change).
_URLS: dict[tuple[str, str, str], str] = {}


def _url_of(name: str) -> str:
    """The URL of a page by name, or "" when it is not installed in this deployment."""
    key = (str(get_urlconf() or settings.ROOT_URLCONF), get_script_prefix(), name)
    if key not in _URLS:
        try:
            _URLS[key] = reverse(name)
        except NoReverseMatch:
            _URLS[key] = ""
    return _URLS[key]


def confirmation(code: str) -> str:
    return CONFIRMATIONS.get(code, "")


def launch(request: HttpRequest) -> dict[str, str]:
    return {
        "launch_token": getattr(request, "launch_token", ""),
        "page_url": getattr(request, "page_url", ""),
    }


def nav(request: HttpRequest) -> dict[str, object]:
    """The role's navigation bar (empty outside a launch) and the `?done=` confirmation."""
    context: LaunchContext | None = getattr(request, "launch", None)
    links: list[NavLink] = []
    if context is not None:
        wanted = links_for(context.role, in_course=bool(context.course_id))
        own = {label: url for label, name, _ in wanted if (url := _url_of(name))}
        current = current_label(request.path, list(own), own)
        links = [
            NavLink(label, own[label] + (f"?{query}" if query else ""), label == current)
            for label, _, query in wanted
            if label in own
        ]
    return {
        "nav_links": links,
        "confirmation": confirmation(request.GET.get("done", "")),
    }
