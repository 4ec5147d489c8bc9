"""The institution admin console: one page, and one small view per action posted from it.

Every view needs an admin launch; reads and writes are scoped to the launch's deployment.
Actions redirect back to the page with a notice, except issuing a credential, whose secret is
rendered once and never again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from completion.console import operations as console
from lti_tool import selectors
from lti_tool.audit import retention
from lti_tool.context import LaunchContext
from lti_tool.decorators import launch_of, launch_required
from lti_tool.keys import credentials
from lti_tool.models import Role, ServiceCredential

ADMIN = {Role.ADMIN}
NOTICES = {
    "sync": "Sync queued; its result appears here when the job has run.",
    "revoked": "Credential revoked. Clients using it are refused from now on.",
    "retention": "Retention period saved.",
}


def _actor(launch: LaunchContext) -> str:
    return f"person:{launch.person_id}"


def _back(request: HttpRequest, done: str) -> HttpResponse:
    return redirect(f"{reverse('console:home')}?{urlencode({'done': done})}")


def _page(request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    launch = launch_of(request)
    page = console.console_page(
        launch, now=timezone.now(), preview=request.GET.get("preview") == "1"
    )
    context = {"page": page, "launch": launch, **extra}
    return render(request, "console/console.html", context, status=status)


@require_GET
@launch_required(roles=ADMIN)
def home(request: HttpRequest) -> HttpResponse:
    return _page(request, notice=NOTICES.get(request.GET.get("done", ""), ""))


@require_POST
@launch_required(roles=ADMIN)
def sync_now(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    course = selectors.access_course(launch, _int(request.POST.get("course")))
    try:
        console.request_sync(course=course, kind=request.POST.get("kind", ""), actor=_actor(launch))
    except console.SyncUnavailable as exc:
        return _page(request, status=400, error=str(exc))
    return _back(request, "sync")


@require_POST
@launch_required(roles=ADMIN)
def issue_credential(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    kind, name = request.POST.get("kind", ""), request.POST.get("name", "").strip()
    if kind not in ServiceCredential.Kind.values or not name or len(name) > 200:
        return _page(request, status=400, error="Choose a kind and give the credential a name.")
    issued = credentials.issue_credential(
        deployment=selectors.deployment_of(launch), kind=kind, name=name, actor=_actor(launch)
    )
    response = _page(request, issued=issued)
    response["Cache-Control"] = "no-store"  # the secret is in this page, once
    return response


@require_POST
@launch_required(roles=ADMIN)
def revoke_credential(request: HttpRequest, credential_id: int) -> HttpResponse:
    launch = launch_of(request)
    credential = console.access_credential(launch, credential_id)
    if credential.revoked_at is None:
        credentials.revoke_credential(credential=credential, actor=_actor(launch))
    return _back(request, "revoked")


@require_POST
@launch_required(roles=ADMIN)
def set_retention(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    try:
        retention.set_retention_years(
            deployment=selectors.deployment_of(launch),
            years=_int(request.POST.get("years")),
            actor=_actor(launch),
        )
    except retention.InvalidRetention as exc:
        return _page(request, status=400, error=str(exc))
    return _back(request, "retention")


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
