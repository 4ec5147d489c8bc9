"""Certificate pages: the public verification page and keys, the learner's downloads, and the
staff pages (issued certificates, revoke and re-issue, bulk download, template settings)."""

from __future__ import annotations

import io
import re
import zipfile
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from certificates import badge_services, course_list, eligibility, selectors, services, signing
from certificates.forms import CertificateSettingsForm
from certificates.models import Certificate
from certificates.pdf import TemplateInvalid, render_pdf
from lti_tool.context import LaunchContext
from lti_tool.decorators import launch_of, launch_required
from lti_tool.models import Role
from lti_tool.selectors import STAFF_ROLES, access_course, launch_person

MAX_UPLOAD = 20 * 1024 * 1024
SERIAL = re.compile(r"[A-Z0-9-]{4,32}")
REVOKERS = frozenset({Role.INSTRUCTOR, Role.ADMIN})


# --- public -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, serial: str) -> HttpResponse:
    """Public: the certificate's status; with an uploaded PDF, whether it is the genuine file."""
    cert = selectors.by_serial(serial)
    upload = _upload_check(request, cert.pdf_sha256) if request.method == "POST" else None
    return _verification_page(request, cert, upload)


def _verification_page(request: HttpRequest, cert: Certificate, upload: str | None) -> HttpResponse:
    status = selectors.certificate_status(cert, now=timezone.now())
    return render(
        request,
        "certificates/verify.html",
        {
            "cert": cert,
            "status": status,
            "status_word": eligibility.STATUS_WORDS[status],
            "signature_ok": signing.signature_valid(cert),
            "upload": upload,
            "renewed_by": cert.renewals.order_by("issued_at").first(),
        },
        status=400 if upload == "missing" else 200,
    )


def _upload_check(request: HttpRequest, expected_sha256: str) -> str:
    file = request.FILES.get("pdf")
    if file is None or file.size is None or file.size == 0:
        return "missing"
    if file.size > MAX_UPLOAD:
        return "too_big"
    found = selectors.by_pdf(file.read())
    if found is not None and found.pdf_sha256 == expected_sha256:
        return "genuine"
    return "not_genuine"


@require_http_methods(["GET", "POST"])
def verify_lookup(request: HttpRequest) -> HttpResponse:
    """Public: find a certificate by serial, or by the PDF file itself."""
    serial = request.GET.get("serial", "").strip().upper()
    if serial and SERIAL.fullmatch(serial):
        return redirect("certificates:verify", serial=serial)
    result = "bad_serial" if serial else None
    if request.method == "POST":
        file = request.FILES.get("pdf")
        if file is not None and file.size and file.size <= MAX_UPLOAD:
            found = selectors.by_pdf(file.read())
            if found is not None:  # shown here, so no link can claim a file was checked
                return _verification_page(request, found, "genuine")
        result = "unknown"
    return render(request, "certificates/lookup.html", {"result": result})


@require_GET
def keys(request: HttpRequest) -> JsonResponse:
    return JsonResponse(signing.jwks())


@require_GET
def status_list(request: HttpRequest, deployment_id: int) -> HttpResponse:
    token = badge_services.status_list_token(deployment_id, now=timezone.now())
    response = HttpResponse(token, content_type="application/vc+jwt")
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def issuer(request: HttpRequest, deployment_id: int) -> JsonResponse:
    return JsonResponse(badge_services.issuer_profile(deployment_id))


# --- learner and staff downloads (inside the LMS) -----------------------------------------


@launch_required()
def mine(request: HttpRequest) -> HttpResponse:
    launch = launch_of(request)
    person = launch_person(launch)
    now = timezone.now()
    rows = [
        (c, eligibility.STATUS_WORDS[selectors.certificate_status(c, now=now)])
        for c in selectors.learner_certificates(person)
    ]
    tracks = selectors.track_progress(person, now=now)
    return render(
        request,
        "certificates/mine.html",
        {"rows": rows, "tracks": tracks},
    )


@launch_required()
def download_pdf(request: HttpRequest, serial: str) -> HttpResponse:
    cert = selectors.access_certificate(launch_of(request), serial)
    if not cert.pdf:
        return HttpResponse("This certificate is still being issued.", status=409)
    with cert.pdf.open("rb") as handle:
        response = HttpResponse(handle.read(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{cert.serial}.pdf"'
    return response


@launch_required()
def download_badge(request: HttpRequest, serial: str) -> HttpResponse:
    cert = selectors.access_certificate(launch_of(request), serial)
    token = badge_services.badge_token(cert)
    response = HttpResponse(token, content_type="application/vc+jwt")
    response["Content-Disposition"] = f'attachment; filename="{cert.serial}.jwt"'
    return response


# --- staff --------------------------------------------------------------------------------


@launch_required(roles=STAFF_ROLES)
def course_certificates(request: HttpRequest) -> HttpResponse:
    """Issued certificates of the course, a page at a time: search, dates, sort, revoke,
    re-issue, and a ZIP of every match."""
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    query = course_list.query_from(request.GET)  # a POST keeps the list's query string
    if request.GET.get("zip") == "1":
        found = course_list.matching(course, query).order_by("-issued_at")
        return _zip_response(found, f"{course.label or course.pk}-certificates.zip")
    error = notice = ""
    if request.method == "POST":
        error, notice = _staff_action(request, launch)
    return render(
        request,
        "certificates/course.html",
        {
            "course": course,
            "listed": course_list.certificate_page(course, query, now=timezone.now()),
            "query": query,
            "keep": _keep(request),
            "can_revoke": launch.role in REVOKERS,
            "error": error,
            "notice": notice,
        },
        status=400 if error else 200,
    )


def _keep(request: HttpRequest) -> str:
    """The search and dates as a query string, for sort and page links to keep."""
    return urlencode({k: request.GET[k] for k in ("q", "from", "to") if request.GET.get(k)})


def _staff_action(request: HttpRequest, launch: LaunchContext) -> tuple[str, str]:
    if launch.role not in REVOKERS:
        raise PermissionDenied("Only instructors and administrators revoke or re-issue.")
    cert = selectors.access_certificate_as_staff(launch, request.POST.get("serial", ""))
    by = f"person:{launch.person_id}"
    reason = request.POST.get("reason", "")
    try:
        if request.POST.get("action") == "reissue":
            copy = services.reissue_certificate(
                cert, reason=reason, by=by, now=timezone.now(),
                learner_name=request.POST.get("learner_name", ""),
            )  # fmt: skip
            return "", f"Re-issued {cert.serial} as {copy.serial}."
        services.revoke_certificate(cert, reason=reason, by=by, now=timezone.now())
        return "", f"Revoked {cert.serial}."
    except services.CertificateRefused as exc:
        return str(exc), ""


def _zip_response(found: QuerySet[Certificate], filename: str) -> HttpResponse:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PDFs are compressed
        for cert in found.exclude(pdf="").iterator(chunk_size=200):
            with cert.pdf.open("rb") as handle:
                archive.writestr(f"{cert.serial}.pdf", handle.read())
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@launch_required(roles={Role.INSTRUCTOR, Role.ADMIN})
def settings_page(request: HttpRequest) -> HttpResponse:
    """The course's certificate settings and template, with a live preview."""
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    current = selectors.settings_for(course)
    saved = False
    if request.method == "POST":
        form = CertificateSettingsForm(request.POST, request.FILES, instance=current, course=course)
        if form.is_valid():
            form.save()
            services.record_settings_change(course, by=f"person:{launch.person_id}")
            saved = True
    else:
        form = CertificateSettingsForm(instance=current, course=course)
    return render(
        request,
        "certificates/settings.html",
        {
            "course": course,
            "form": form,
            "saved": saved,
        },
        status=400 if request.method == "POST" and not saved else 200,
    )


@launch_required(roles={Role.INSTRUCTOR, Role.ADMIN})
def preview(request: HttpRequest) -> HttpResponse:
    """A sample certificate from the posted (unsaved) template: HTML, or PDF with `pdf=1`."""
    launch = launch_of(request)
    course = access_course(launch, launch.course_id or 0, staff=True)
    source = request.POST.get("template_html", "") if request.method == "POST" else ""
    page_size = request.POST.get("page_size") or selectors.settings_for(course).page_size
    try:
        html = services.sample_html(course, source, page_size=page_size)
        if request.POST.get("pdf") == "1" or request.GET.get("pdf") == "1":
            return HttpResponse(render_pdf(html), content_type="application/pdf")
    except TemplateInvalid as exc:
        return render(request, "certificates/preview_error.html", {"error": str(exc)}, status=400)
    response = HttpResponse(html)
    # The preview shows instructor HTML: no scripts, nothing fetched from elsewhere.
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    )
    return response
