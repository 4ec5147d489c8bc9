"""Staff: "Message these N learners" from the roster's filters, previewed (which freezes the
recipients), sent, and the page that says what became of it. Views parse, authorise, call
`bulk`, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from completion.instructor.roster import FILTER_KEYS, matching_memberships, query_from
from completion.wording import signal as signal_words
from interventions.planning import bulk
from lti_tool.decorators import launch_of, launch_required
from lti_tool.models import Course
from lti_tool.selectors import STAFF_ROLES, access_course, launch_person


def _filters(params: QueryDict) -> dict[str, str]:
    return {k: str(params.get(k, "")) for k in FILTER_KEYS if params.get(k)}


def _in_words(filters: dict[str, str]) -> list[tuple[str, str]]:
    names = {"tier": "Risk", "status": "Status", "reason": "Signal", "q": "Name contains",
             "section": "Section", "group": "Group", "as_of": "Scored on"}  # fmt: skip
    shown = {"tier": str.capitalize, "status": lambda v: v.replace("_", " ").capitalize(),
             "reason": signal_words}  # fmt: skip
    return [(names[k], shown.get(k, str)(v)) for k, v in filters.items()]


@launch_required(roles=STAFF_ROLES)
def bulk_message(request: HttpRequest) -> HttpResponse:
    """GET: the form for the roster's current filters; POST: preview (which keeps the
    recipients in a draft), or send that draft."""
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    by, error = launch_person(launch), ""
    params = request.POST if request.method == "POST" else request.GET
    posted = request.POST.get("action", "")
    if posted == "send":
        try:
            draft = _int(request.POST.get("draft"))
            done = bulk.send_bulk_message(course=course, draft_id=draft, by=by)
            return redirect("interventions:bulk_done", bulk_id=done.pk)
        except bulk.BulkRefused as exc:
            error = str(exc)
    filters = _filters(params)
    ids = matching_memberships(course, query_from(filters))
    subject, text = params.get("subject", "").strip(), params.get("text", "")
    context = _page(course, filters, len(ids), subject, text)
    try:
        if posted == "preview":
            context["draft"], context["preview"] = bulk.draft_bulk_message(
                course=course, membership_ids=ids, filters=filters, subject=subject, text=text,
                by=by,
            )  # fmt: skip
    except bulk.BulkRefused as exc:
        error = str(exc)
    if error:
        context["error"] = error
    return render(request, "interventions/bulk_message.html", context, status=400 if error else 200)


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def _page(
    course: Course, filters: dict[str, str], count: int, subject: str, text: str
) -> dict[str, object]:
    back = reverse("completion_risk:dashboard")
    return {
        "course": course,
        "filters": filters,
        "filter_words": _in_words(filters),
        "count": count,
        "subject": subject,
        "text": text,
        "placeholders": bulk.PLACEHOLDERS,
        "background": count > bulk.INLINE_LIMIT,
        "back": _url(back, filters) if filters else back,
    }


def _url(path: str, filters: dict[str, str]) -> str:
    query = QueryDict(mutable=True)
    query.update(filters)
    return f"{path}?{query.urlencode()}"


@launch_required(roles=STAFF_ROLES)
def bulk_done(request: HttpRequest, bulk_id: int) -> HttpResponse:
    """What became of a bulk message: queued, held for later, not sent and why."""
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    row = bulk.access_bulk(course, bulk_id)
    return render(
        request,
        "interventions/bulk_done.html",
        {"course": course, "bulk": row, "learners": len(row.membership_ids),
         "filter_words": _in_words(row.filters)},
    )  # fmt: skip
