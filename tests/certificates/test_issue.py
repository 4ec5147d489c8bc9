"""Completion to certificate: exactly one, rendered, signed, verifiable; revocation; tampering."""

from __future__ import annotations

import hashlib

import jwt
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from jwt.algorithms import OKPAlgorithm

from certificates import badge_services, badges, services, signing
from certificates.models import Certificate, CertificateSettings
from certificates.pdf import TemplateInvalid, render_html, render_pdf
from lti_tool.context import LaunchContext
from lti_tool.models import AuditEntry
from tests.certificates.helpers import complete, learner, one_page_course, qr_urls
from tests.helpers import session_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def course_and_page():
    return one_page_course()


def tamper(pdf_bytes):
    """What a forger does: open the PDF in an editor, change something, save it again."""
    import io

    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf_bytes)))
    writer.add_metadata({"/Title": "Certificate of completion, Eve Forger"})
    out = io.BytesIO()
    writer.write(out)
    assert out.getvalue() != pdf_bytes
    return out.getvalue()


def issued_for(membership):
    return Certificate.objects.get(membership=membership)


def test_completing_issues_exactly_one_signed_pdf_whose_qr_leads_to_its_page(
    course_and_page, django_capture_on_commit_callbacks
):
    course, page = course_and_page
    ada = learner(course, "ada")
    bob = learner(course, "bob")  # does not finish
    complete(course, page, ada, django_capture_on_commit_callbacks)
    cert = issued_for(ada)
    assert not Certificate.objects.filter(membership=bob).exists()
    assert cert.learner_name == "ada"
    assert cert.title == course.title
    content = cert.pdf.read()
    assert content.startswith(b"%PDF")
    assert hashlib.sha256(content).hexdigest() == cert.pdf_sha256
    assert signing.signature_valid(cert)
    assert qr_urls(content) == [
        f"http://testserver{reverse('certificates:verify', args=[cert.serial])}".replace(
            "http://testserver", "http://127.0.0.1:8000"
        )
    ]
    # Scoring again (the nightly pass, a second worker) issues nothing more.
    complete(course, page, ada, django_capture_on_commit_callbacks, on=2)
    assert Certificate.objects.filter(person=ada.person).count() == 1
    assert AuditEntry.objects.filter(action="certificate.issue").count() == 1


def test_the_verification_page_is_public_and_tells_genuine_files_from_tampered_ones(
    course_and_page, django_capture_on_commit_callbacks
):
    course, page = course_and_page
    ada = learner(course, "ada")
    complete(course, page, ada, django_capture_on_commit_callbacks)
    cert = issued_for(ada)
    client = Client(enforce_csrf_checks=False)
    url = reverse("certificates:verify", args=[cert.serial])
    body = client.get(url).content.decode()
    assert 'data-status="valid"' in body
    assert "Valid" in body
    assert "Verified (Ed25519" in body
    genuine = cert.pdf.read()
    from django.core.files.uploadedfile import SimpleUploadedFile

    ok = client.post(url, {"pdf": SimpleUploadedFile("c.pdf", genuine, "application/pdf")})
    assert 'data-upload="genuine"' in ok.content.decode()
    tampered = tamper(genuine)
    bad = client.post(url, {"pdf": SimpleUploadedFile("c.pdf", tampered, "application/pdf")})
    assert 'data-upload="not_genuine"' in bad.content.decode()
    # The lookup page finds a certificate from its file alone.
    found = client.post(
        reverse("certificates:lookup"), {"pdf": SimpleUploadedFile("x.pdf", genuine)}
    )
    assert found.status_code == 200
    assert cert.serial in found.content.decode()
    assert 'data-upload="genuine"' in found.content.decode()
    # No link can make the page claim a file was checked.
    claimed = client.get(url, {"file": "1"}).content.decode()
    assert 'data-upload="genuine"' not in claimed
    bad_serial = client.get(reverse("certificates:lookup"), {"serial": "FL/../x"})
    assert bad_serial.status_code == 200
    unknown = client.post(
        reverse("certificates:lookup"), {"pdf": SimpleUploadedFile("x.pdf", tampered)}
    )
    assert "No certificate issued by this tool matches" in unknown.content.decode()
    assert client.get(reverse("certificates:verify", args=["FL-NOPE-NOPE-NOPE"])).status_code == 404


def test_editing_a_signed_record_in_the_database_shows_on_the_page(
    course_and_page, django_capture_on_commit_callbacks
):
    course, page = course_and_page
    ada = learner(course, "ada")
    complete(course, page, ada, django_capture_on_commit_callbacks)
    cert = issued_for(ada)
    Certificate.objects.filter(pk=cert.pk).update(expires_at=timezone.now().replace(year=2099))
    cert.refresh_from_db()
    assert not signing.signature_valid(cert)
    body = Client().get(reverse("certificates:verify", args=[cert.serial])).content.decode()
    assert "no longer matches what was signed" in body


def test_revocation_needs_a_reason_is_audited_and_reaches_page_and_status_list(
    course_and_page, django_capture_on_commit_callbacks
):
    course, page = course_and_page
    ada = learner(course, "ada", email="ada@example.edu")
    complete(course, page, ada, django_capture_on_commit_callbacks)
    cert = issued_for(ada)
    now = timezone.now()
    with pytest.raises(services.CertificateRefused):
        services.revoke_certificate(cert, reason="  ", by="person:1", now=now)
    status_url = reverse("certificates:status_list", args=[cert.deployment_id])
    keys = {k["kid"]: k for k in Client().get(reverse("certificates:keys")).json()["keys"]}

    def revoked_in_list():
        token = Client().get(status_url).content.decode()
        kid = jwt.get_unverified_header(token)["kid"]
        claims = badges.verify_vc(token, OKPAlgorithm.from_jwk(keys[kid]), at=now)
        return badges.status_bit(claims["credentialSubject"]["encodedList"], cert.status_index)

    assert not revoked_in_list()
    services.revoke_certificate(cert, reason="issued in error", by="person:1", now=now)
    assert revoked_in_list()
    entry = AuditEntry.objects.get(action="certificate.revoke")
    assert entry.data == {"serial": cert.serial, "reason": "issued in error"}
    body = Client().get(reverse("certificates:verify", args=[cert.serial])).content.decode()
    assert 'data-status="revoked"' in body
    assert "issued in error" in body
    with pytest.raises(services.CertificateRefused):
        services.revoke_certificate(cert, reason="again", by="person:1", now=now)


def test_the_open_badge_verifies_against_the_published_keys(
    course_and_page, django_capture_on_commit_callbacks
):
    course, page = course_and_page
    ada = learner(course, "ada", email="ada@example.edu")
    complete(course, page, ada, django_capture_on_commit_callbacks)
    cert = issued_for(ada)
    token = badge_services.badge_token(cert)
    keys = Client().get(reverse("certificates:keys")).json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    public = OKPAlgorithm.from_jwk(next(k for k in keys if k["kid"] == kid))
    claims = badges.verify_vc(token, public)
    assert claims["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert claims["credentialSubject"]["achievement"]["name"] == course.title
    assert claims["id"].endswith(f"/certificates/verify/{cert.serial}/")
    assert claims["credentialStatus"]["statusListIndex"] == str(cert.status_index)
    issuer = Client().get(claims["issuer"]["id"].replace("http://127.0.0.1:8000", "")).json()
    assert issuer["type"] == ["Profile"]
    assert issuer["id"] == claims["issuer"]["id"]


def test_reissue_keeps_the_dates_revokes_the_original_and_names_the_copy(
    course_and_page, django_capture_on_commit_callbacks
):
    course, page = course_and_page
    ada = learner(course, "ada")
    complete(course, page, ada, django_capture_on_commit_callbacks)
    cert = issued_for(ada)
    copy = services.reissue_certificate(
        cert, reason="name misspelt", by="person:9", now=timezone.now(), learner_name="Ada King"
    )
    cert.refresh_from_db()
    assert copy.learner_name == "Ada King"
    assert copy.issued_at == cert.issued_at
    assert copy.reissue_of == cert
    assert signing.signature_valid(copy)
    assert cert.revoked_at is not None
    assert copy.serial in cert.revoked_reason
    assert copy.pdf_sha256 != cert.pdf_sha256


def test_learners_download_only_their_own_and_staff_only_their_courses(
    course_and_page, django_capture_on_commit_callbacks
):
    course, page = course_and_page
    ada, bob = learner(course, "ada"), learner(course, "bob")
    complete(course, page, ada, django_capture_on_commit_callbacks)
    cert = issued_for(ada)
    other_course, _ = one_page_course(deployment=course.deployment)
    base = {"deployment_id": course.deployment_id, "platform_id": course.deployment.platform_id}

    def as_(person, course_id, membership_id, role):
        return session_token(LaunchContext(**base, person_id=person, course_id=course_id,
                             membership_id=membership_id, role=role))  # fmt: skip

    url = reverse("certificates:pdf", args=[cert.serial])
    client = Client()
    assert client.get(
        url, {}, HTTP_X_FINISHLINE_LAUNCH=as_(ada.person_id, course.pk, ada.pk, "learner")
    ).content == (cert.pdf.open("rb").read())
    assert (
        client.get(
            url, {}, HTTP_X_FINISHLINE_LAUNCH=as_(bob.person_id, course.pk, bob.pk, "learner")
        ).status_code
        == 404
    )
    teacher = learner(course, "teacher")
    assert (
        client.get(
            url, {}, HTTP_X_FINISHLINE_LAUNCH=as_(teacher.person_id, course.pk, None, "instructor")
        ).status_code
        == 200
    )
    assert (
        client.get(
            url,
            {},
            HTTP_X_FINISHLINE_LAUNCH=as_(teacher.person_id, other_course.pk, None, "instructor"),
        ).status_code
        == 404
    )
    assert client.get(url).status_code == 401
    mine = client.get(
        reverse("certificates:mine"),
        {},
        HTTP_X_FINISHLINE_LAUNCH=as_(ada.person_id, course.pk, ada.pk, "learner"),
    )
    assert cert.serial in mine.content.decode()
    theirs = client.get(
        reverse("certificates:mine"),
        {},
        HTTP_X_FINISHLINE_LAUNCH=as_(bob.person_id, course.pk, bob.pk, "learner"),
    )
    assert cert.serial not in theirs.content.decode()


def test_a_disabled_course_issues_nothing(course_and_page, django_capture_on_commit_callbacks):
    course, page = course_and_page
    CertificateSettings.objects.create(course=course, enabled=False)
    ada = learner(course, "ada")
    complete(course, page, ada, django_capture_on_commit_callbacks)
    assert not Certificate.objects.exists()


def test_a_render_that_fails_leaves_the_record_for_the_sweep(
    course_and_page, django_capture_on_commit_callbacks, monkeypatch
):
    course, page = course_and_page
    ada = learner(course, "ada")

    def broken(html):
        raise OSError("disk full")

    monkeypatch.setattr(services.pdf, "render_pdf", broken)
    complete(course, page, ada, django_capture_on_commit_callbacks)
    cert = issued_for(ada)
    assert cert.signature == ""
    assert not cert.pdf
    body = Client().get(reverse("certificates:verify", args=[cert.serial])).content.decode()
    assert "Being issued" in body
    monkeypatch.undo()
    services.finish_certificate(cert.pk)
    cert.refresh_from_db()
    assert signing.signature_valid(cert)
    assert cert.pdf


def test_templates_cannot_fetch_files_or_addresses_and_bad_syntax_is_refused(tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = tmp_path / "secret.css"
    secret.write_text("body { background: red }")
    html = (
        f'<html><head><link rel="stylesheet" href="file://{secret}"></head><body>'
        f'<img src="http://127.0.0.1:{server.server_port}/internal">hello</body></html>'
    )
    try:
        assert render_pdf(html).startswith(b"%PDF")
    finally:
        server.shutdown()
    assert hits == []
    from certificates.pdf import CertificateView

    view = CertificateView(*(["x"] * 11))
    with pytest.raises(TemplateInvalid):
        render_html("{% load static %}{% static 'x' %}", view)
    with pytest.raises(TemplateInvalid):
        render_html("{% include 'base.html' %}", view)
    assert "&lt;script&gt;" in render_html(
        "{{ learner_name }}", CertificateView(*(["<script>"] * 11))
    )
