"""Public one-click unsubscribe (the link and List-Unsubscribe header of every email) and tracked
message links (`/m/<token>/`)."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from completion.risk.selectors import schedule_of
from completion.risk.services import InvalidCriteria, revise_schedule
from interventions.delivery import clicks
from interventions.delivery.outbox import UNSUBSCRIBE_SALT
from interventions.delivery.preferences import opt_out
from interventions.learners.cases import STATUSES as CASE_STATUSES
from interventions.learners.cases import CaseQuery, case_page
from interventions.learners.pausing import (
    PauseRefused,
    current_pause,
    pause_learner,
    resume_learner,
)
from interventions.measurement.outcomes import (
    experiment_results,
    intervention_funnel,
    recovery_rates,
)
from interventions.planning.planner import plan_course
from interventions.planning.preview import PlanPage, plan_page
from lti_tool.db.paging import asked
from lti_tool.decorators import launch_of, launch_required
from lti_tool.models import Person, Role
from lti_tool.origins import origin_of
from lti_tool.selectors import STAFF_ROLES, access_course, access_membership


@csrf_exempt  # RFC 8058 one-click POSTs come from mail clients, without a CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return render(
            request,
            "lti_tool/error.html",
            {
                "title": "This unsubscribe link is not valid",
                "reason": "The link is damaged. Use the link in your most recent email.",
            },
            status=400,
        )
    person = Person.objects.filter(pk=data["p"]).first()
    if request.method == "POST" and person is not None:
        opt_out(person=person, channel=data["c"], actor=f"unsubscribe:{person.pk}")
        return render(request, "interventions/unsubscribed.html", {"channel": data["c"]})
    return render(request, "interventions/unsubscribe.html", {"token": token, "channel": data["c"]})


@csrf_exempt  # the unguessable token in the path is the credential; the POST only counts it
@require_http_methods(["GET", "HEAD", "POST"])
def follow_link(request: HttpRequest, token: str) -> HttpResponse:
    """A link in a learner's message. Opening it (as link-scanning mail gateways do too)
    counts nothing and answers a page that posts back; the POST counts the click and goes
    where the message's link led."""
    if request.method == "POST":
        target = clicks.follow_link(token)
        if target is None:
            raise Http404("no message holds this link")
        response: HttpResponse = HttpResponseRedirect(target)
    else:
        target = clicks.link_target(token)
        if target is None:
            raise Http404("no message holds this link")
        # The form's POST answers a redirect there, which the policy's form-action must allow.
        request.form_action_extra = [origin_of(target)]  # type: ignore[attr-defined]
        response = render(request, "interventions/follow_link.html")
    response["Cache-Control"] = "no-store"  # each visit is a click
    response["Referrer-Policy"] = "no-referrer"  # the token stays out of the course's logs
    response["X-Robots-Tag"] = "noindex"
    return response


@launch_required(roles={Role.LEARNER})
def pause(request: HttpRequest) -> HttpResponse:
    """The learner's own pause: a reason and a return date; or resume now."""
    launch = launch_of(request)
    membership = access_membership(launch, launch.membership_id or 0)
    error = ""
    if request.method == "POST":
        by = f"learner:{membership.person_id}"
        try:
            if request.POST.get("action") == "revise":
                revise_schedule(
                    membership=membership, extra_days=int(request.POST.get("extra_days") or 0),
                    reason=request.POST.get("reason", ""), by=by, today=timezone.localdate(),
                )  # fmt: skip
            elif request.POST.get("action") == "resume":
                resume_learner(membership=membership, by=by)
                return redirect(reverse("interventions:pause") + "?done=resumed")
            else:
                until = date.fromisoformat(request.POST.get("until", ""))
                pause_learner(
                    membership=membership, until=until, reason=request.POST.get("reason", ""), by=by
                )
                return redirect(reverse("interventions:pause") + "?done=paused")
            return redirect(reverse("interventions:pause") + "?done=revised")
        except (PauseRefused, InvalidCriteria) as exc:
            error = str(exc)
        except ValueError:
            error = "Choose a valid return date."
    return render(
        request,
        "interventions/pause.html",
        {
            "pause": current_pause(membership),
            "schedule": schedule_of(membership),
            "error": error,
        },
        status=400 if error else 200,
    )


@launch_required(roles=STAFF_ROLES)
def course_interventions(request: HttpRequest) -> HttpResponse:
    """Staff: recovery per step, A/B results, open advisor cases, and today's plan on demand."""
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    return render(
        request,
        "interventions/course.html",
        {
            "course": course,
            "recovery": recovery_rates(course_id=course.pk),
            "funnel": intervention_funnel(course_id=course.pk),
            "experiments": experiment_results(course_id=course.pk),
            "cases": case_page(course.pk, _case_query(request), me=launch.person_id),
            "case_query": _case_query(request),
            "case_filters": _case_filters(request),
            "case_statuses": list(CASE_STATUSES.items()),
            "preview": _plan_preview(request, course.pk) if request.GET.get("preview") else None,
        },
    )


def _plan_preview(request: HttpRequest, course_id: int) -> PlanPage:
    return plan_page(
        plan_course(course_id=course_id, dry_run=True).actions,
        sort=request.GET.get("plan_sort", "learner"),
        page=asked(request.GET, "plan_page"),
    )


def _case_query(request: HttpRequest) -> CaseQuery:
    return CaseQuery(
        sort=request.GET.get("sort", "value"),
        assignee=request.GET.get("assignee", "")[:20],
        status=request.GET.get("status", "open"),
        page=asked(request.GET),
    )


def _case_filters(request: HttpRequest) -> str:
    """The case filters as a query string, for sort and page links to keep."""
    return urlencode({k: request.GET[k] for k in ("assignee", "status") if request.GET.get(k)})
