"""Instructors' settings pages: the course's playbooks and the wording of each message."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from interventions.playbook_editor import services as ps
from lti_tool.decorators import launch_of, launch_required
from lti_tool.models import Role
from lti_tool.selectors import access_course

EDITORS = {Role.INSTRUCTOR, Role.ADMIN}


@launch_required(roles=EDITORS)
def playbooks_page(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    error = notice = ""
    if request.method == "POST":
        rows = ps.playbook_rows(course)
        try:
            changed = ps.save_playbooks(
                course,
                enabled={r.key: request.POST.get(f"pb-{r.key}-enabled") == "on" for r in rows},
                dry_run={r.key: request.POST.get(f"pb-{r.key}-dry_run") == "on" for r in rows},
                steps={s.key: _choice(request, s) for r in rows for s in r.steps},
                by=f"person:{launch.person_id}",
            )
            notice = f"Saved ({changed} playbook{'s' if changed != 1 else ''} changed)."
        except ps.SettingsRefused as exc:
            error = str(exc)
    rows = ps.playbook_rows(course)
    return render(
        request,
        "interventions/playbooks.html",
        {"course": course, "rows": rows, "templates": ps.template_keys(rows), "error": error,
         "notice": notice},
        status=400 if error else 200,
    )  # fmt: skip


def _choice(request: HttpRequest, step: ps.StepRow) -> ps.StepChoice:
    raw = request.POST.get(f"st-{step.key}-value", "")
    try:
        value = float(raw) if raw.strip() else None
    except ValueError as exc:
        raise ps.SettingsRefused(f"{step.key}: the timing must be a number.") from exc
    return ps.StepChoice(
        enabled=request.POST.get(f"st-{step.key}-enabled") == "on",
        channels=tuple(request.POST.getlist(f"st-{step.key}-channels")),
        value=value,
    )


@launch_required(roles=EDITORS)
def template_page(request: HttpRequest, key: str) -> HttpResponse:
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    error = notice = ""
    try:
        current, customised = ps.template_for(course, key)
    except ps.SettingsRefused as exc:
        page = {"title": "No such message", "reason": str(exc)}
        return render(request, "lti_tool/error.html", page, status=404)
    subject, body = current.subject, current.body
    sample = None
    if request.method == "POST":
        subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
        try:
            if request.POST.get("action") == "reset":
                ps.save_template(course, key, subject="", body="", by=f"person:{launch.person_id}")
                default = ps.template_for(course, key)[0]
                subject, body, customised = default.subject, default.body, False
                notice = "Back to the default wording."
            elif request.POST.get("action") == "preview":
                sample = ps.preview(key, subject, body)
            else:
                ps.save_template(course, key, subject=subject, body=body,
                                 by=f"person:{launch.person_id}")  # fmt: skip
                customised, notice = True, "Saved. Messages planned from now on use it."
        except ps.SettingsRefused as exc:
            error = str(exc)
    return render(
        request,
        "interventions/template.html",
        {"course": course, "key": key, "subject": subject, "body": body, "sample": sample,
         "customised": customised, "fields": sorted(ps.SAMPLE_CONTEXT), "error": error,
         "notice": notice},
        status=400 if error else 200,
    )  # fmt: skip
