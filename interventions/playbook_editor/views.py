"""Instructors' settings pages: the course's playbooks and the wording of each message."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from interventions.delivery import messages
from interventions.measurement.outcomes import experiment_results
from interventions.models import CourseSupport, Experiment
from interventions.playbook_editor import experiments as ex
from interventions.playbook_editor import services as ps
from interventions.playbook_editor import support
from lti_tool.decorators import launch_of, launch_required
from lti_tool.models import Course, Role
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
    """A message's wording in the course's language, or its translation into `?language=`."""
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    by = f"person:{launch.person_id}"
    try:
        language = ps.language_tag(request.POST.get("language", request.GET.get("language", "")))
    except ps.SettingsRefused as exc:
        page = {"title": "Not a language", "reason": str(exc)}
        return render(request, "lti_tool/error.html", page, status=400)
    try:
        current, customised = ps.template_for(course, key, language)
    except ps.SettingsRefused as exc:
        page = {"title": "No such message", "reason": str(exc)}
        return render(request, "lti_tool/error.html", page, status=404)
    subject, body, sample, error, notice = current.subject, current.body, None, "", ""
    if request.method == "POST":
        subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
        try:
            if request.POST.get("action") == "reset":
                ps.save_template(course, key, subject="", body="", by=by, language=language)
                default = ps.template_for(course, key, language)[0]
                subject, body, customised = default.subject, default.body, False
                notice = "Translation removed." if language else "Back to the default wording."
            elif request.POST.get("action") == "preview":
                sample = ps.preview(key, subject, body)
            else:
                ps.save_template(course, key, subject=subject, body=body, by=by,
                                 language=language)  # fmt: skip
                customised, notice = True, "Saved. Messages planned from now on use it."
        except ps.SettingsRefused as exc:
            error = str(exc)
    return render(
        request,
        "interventions/template.html",
        {"course": course, "key": key, "subject": subject, "body": body, "sample": sample,
         "customised": customised, "fields": sorted(ps.SAMPLE_CONTEXT), "error": error,
         "notice": notice, "language": language,
         "translations": ps.translations_of(course, key)},
        status=400 if error else 200,
    )  # fmt: skip


@launch_required(roles=EDITORS)
def experiments_page(request: HttpRequest) -> HttpResponse:
    """A/B tests of the course: make one, read its statistics, stop it, adopt a winner."""
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    error = notice = ""
    if request.method == "POST":
        try:
            notice = _experiment_action(request.POST, course, by=f"person:{launch.person_id}")
        except ex.ExperimentRefused as exc:
            error = str(exc)
        except (ValueError, Experiment.DoesNotExist):
            error = "Check the form: a value is missing or not valid."
    return render(
        request,
        "interventions/experiments.html",
        {"course": course, "results": experiment_results(course_id=course.pk),
         "steps": ex.learner_steps(), "templates": sorted(messages.DEFAULTS),
         "consent_modes": Experiment.Consent.choices, "error": error, "notice": notice},
        status=400 if error else 200,
    )  # fmt: skip


def _experiment_action(post: QueryDict, course: Course, *, by: str) -> str:
    action = post.get("action", "")
    if action == "create":
        arms = [
            ex.ArmSpec(post.get(f"arm{n}_key", "").strip() or default, post.get(f"arm{n}_kind", ""),
                       post.get(f"arm{n}_value", "").strip())
            for n, default in (("1", "a"), ("2", "b"))
        ]  # fmt: skip
        made = ex.create_experiment(
            course, step=post.get("step", ""), name=post.get("name", ""), arms=arms,
            holdout_share=float(post.get("holdout_percent") or 0) / 100,
            consent_mode=post.get("consent_mode", ""),
            ends_on=date.fromisoformat(post.get("ends_on", "")) if post.get("ends_on") else None,
            max_per_arm=int(post.get("max_per_arm", "")) if post.get("max_per_arm") else None,
            by=by,
        )  # fmt: skip
        return f"A/B test “{made.name}” started."
    experiment = Experiment.objects.get(course=course, pk=int(post.get("experiment") or 0))
    if action == "stop":
        ex.stop_experiment(experiment, by=by)
        return f"“{experiment.name}” stopped; no new learners join it."
    if action == "adopt":
        arm = post.get("arm", "")
        ex.adopt_arm(experiment, arm=arm, by=by)
        return f"Arm '{arm}' adopted into the playbook; the test is stopped."
    return "Nothing to do."


@launch_required(roles=EDITORS)
def support_page(request: HttpRequest) -> HttpResponse:
    """Resources and a practice item per assessment, and the booking link for a 1-on-1."""
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    error = notice = ""
    if request.method == "POST":
        rows = support.help_rows(course)
        helps = {
            r.item.pk: (request.POST.get(f"res-{r.item.pk}", ""),
                        request.POST.get(f"prac-{r.item.pk}", ""))
            for r in rows
        }  # fmt: skip
        try:
            support.save_support(course, booking_url=request.POST.get("booking_url", ""),
                                 helps=helps, by=f"person:{launch.person_id}",
                                 program=request.POST.get("program", "cohort"),
                                 language=request.POST.get("language", ""))  # fmt: skip
            notice = "Saved; the next messages carry them."
        except support.SupportRefused as exc:
            error = str(exc)
    return render(
        request,
        "interventions/support.html",
        {"course": course, "rows": support.help_rows(course),
         "support": support.support_of(course), "programs": CourseSupport.Program.choices,
         "error": error, "notice": notice},
        status=400 if error else 200,
    )  # fmt: skip
