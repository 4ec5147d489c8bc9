"""Staff pages: issued certificates (search, revoke, re-issue, ZIP) and the template editor."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certificates import selectors
from certificates.course_list import STATUS_ORDER, status_rank
from certificates.models import Certificate, CertificateSettings
from lti_tool.models import AuditEntry
from tests.certificates.helpers import complete, learner, one_page_course, qr_urls
from tests.helpers import token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(django_capture_on_commit_callbacks):
    course, page = one_page_course()
    ada, bob = learner(course, "ada"), learner(course, "bob")
    complete(course, page, ada, django_capture_on_commit_callbacks)
    complete(course, page, bob, django_capture_on_commit_callbacks)
    teacher = learner(course, "teacher")
    return course, ada, bob, teacher


def token(course, membership, role):
    return token_for(membership, role, course_id=course.pk)


def test_staff_search_and_download_a_zip_of_the_courses_pdfs(issued):
    course, ada, bob, teacher = issued
    lt = token(course, teacher, "instructor")
    page = Client().get(reverse("certificates:course"), {"q": "ada"}, HTTP_X_FINISHLINE_LAUNCH=lt)
    body = page.content.decode()
    assert page.status_code == 200
    assert "1 certificate" in body
    ada_cert = Certificate.objects.get(membership=ada)
    assert ada_cert.serial in body
    assert Certificate.objects.get(membership=bob).serial not in body
    archive = Client().get(
        reverse("certificates:course"), {"zip": "1"}, HTTP_X_FINISHLINE_LAUNCH=lt
    )
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert sorted(names) == sorted(f"{c.serial}.pdf" for c in Certificate.objects.all())
    # A learner may not open the staff page.
    assert (
        Client()
        .get(
            reverse("certificates:course"),
            {},
            HTTP_X_FINISHLINE_LAUNCH=token(course, ada, "learner"),
        )
        .status_code
        == 403
    )


def test_an_instructor_revokes_with_a_reason_and_a_teaching_assistant_cannot(issued):
    course, ada, _bob, teacher = issued
    cert = Certificate.objects.get(membership=ada)
    url = reverse("certificates:course")
    no_reason = Client().post(
        url,
        {
            "lt": token(course, teacher, "instructor"),
            "serial": cert.serial,
            "action": "revoke",
            "reason": "",
        },
    )
    assert no_reason.status_code == 400
    assert "needs a reason" in no_reason.content.decode()
    ta = Client().post(
        url,
        {
            "lt": token(course, teacher, "ta"),
            "serial": cert.serial,
            "action": "revoke",
            "reason": "x",
        },
    )
    assert ta.status_code == 403
    done = Client().post(
        url,
        {
            "lt": token(course, teacher, "instructor"),
            "serial": cert.serial,
            "action": "revoke",
            "reason": "cheating",
        },
    )
    assert done.status_code == 200
    assert f"Revoked {cert.serial}" in done.content.decode()
    cert.refresh_from_db()
    assert cert.revoked_reason == "cheating"
    assert cert.revoked_by == f"person:{teacher.person_id}"
    assert AuditEntry.objects.filter(action="certificate.revoke").count() == 1


def test_the_template_editor_validates_previews_and_shapes_new_certificates(
    issued, django_capture_on_commit_callbacks
):
    course, _ada, _bob, teacher = issued
    lt = token(course, teacher, "instructor")
    url = reverse("certificates:settings")
    assert "Live preview" in Client().get(url, {}, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()
    broken = Client().post(
        url, {"lt": lt, "page_size": "A4", "renewal_window_days": 60, "template_html": "{% if %}"}
    )
    assert broken.status_code == 400
    assert "does not compile" in broken.content.decode()
    template = (
        "<html><body><h1>Well done {{ learner_name }}</h1><img src='{{ qr_data_uri }}'>"
        "<p>{{ serial }} {{ organisation }}</p></body></html>"
    )
    preview = Client().post(reverse("certificates:preview"), {"lt": lt, "template_html": template})
    assert "Well done Alex Sample" in preview.content.decode()
    assert "default-src 'none'" in preview["Content-Security-Policy"]
    as_pdf = Client().post(
        reverse("certificates:preview"), {"lt": lt, "template_html": template, "pdf": "1"}
    )
    assert as_pdf["Content-Type"] == "application/pdf"
    assert as_pdf.content.startswith(b"%PDF")
    saved = Client().post(
        url,
        {
            "lt": lt,
            "enabled": "on",
            "page_size": "letter",
            "renewal_window_days": 30,
            "validity_months": 12,
            "organisation": "Acme Safety",
            "template_html": template,
            "signatory_lines": "Dana Reyes | Head of Training",
            "reminder_days_text": "30, 7",
        },
    )
    assert saved.status_code == 200, saved.content.decode()[:2000]
    settings = CertificateSettings.objects.get(course=course)
    assert settings.signatories == [{"name": "Dana Reyes", "role": "Head of Training"}]
    assert settings.reminder_days == [7, 30]
    assert settings.page_size == "letter"
    assert AuditEntry.objects.filter(action="certificate.settings").exists()
    # The next learner to finish gets the new template; issued certificates are untouched.
    before = {c.serial: c.pdf_sha256 for c in Certificate.objects.all()}
    cara = learner(course, "cara")
    from tests.completion.riskdata import Item

    page = Item.objects.get(course=course)
    complete(course, page, cara, django_capture_on_commit_callbacks)
    cert = Certificate.objects.get(membership=cara)
    assert cert.page_size == "letter"
    assert cert.expires_at is not None
    assert qr_urls(cert.pdf.read())[0].endswith(f"/certificates/verify/{cert.serial}/")
    assert {c.serial: c.pdf_sha256 for c in Certificate.objects.exclude(pk=cert.pk)} == before


def test_a_learner_cannot_open_the_template_editor(issued):
    course, ada, _bob, _teacher = issued
    assert (
        Client()
        .get(
            reverse("certificates:settings"),
            {},
            HTTP_X_FINISHLINE_LAUNCH=token(course, ada, "learner"),
        )
        .status_code
        == 403
    )


def test_holding_a_certificate_gives_no_right_to_revoke_or_reissue_it(
    issued, django_capture_on_commit_callbacks
):
    """An instructor of another course who holds a certificate of this one cannot re-issue it."""
    from tests.certificates.helpers import one_page_course
    from tests.completion.riskdata import enrol

    course, ada, _bob, _teacher = issued
    cert = Certificate.objects.get(membership=ada)
    own_course, _ = one_page_course(deployment=course.deployment)
    as_teacher = enrol(own_course, "ada-teaches", role="instructor", person=ada.person)
    forged = Client().post(
        reverse("certificates:course"),
        {"lt": token(own_course, as_teacher, "instructor"), "serial": cert.serial,
         "action": "reissue", "reason": "new name", "learner_name": "Someone Else"},
    )  # fmt: skip
    assert forged.status_code == 404
    assert Certificate.objects.filter(person=ada.person).count() == 1


def many_certificates(course, person, n, now):
    """`n` signed certificates of the course, named Learner 00.. and issued a day apart."""
    return Certificate.objects.bulk_create(
        Certificate(
            serial=f"LIST-{i:04d}", deployment=course.deployment, person=person, course=course,
            learner_name=f"learner {i:02d}" if i % 2 else f"Learner {i:02d}", title="Course",
            issued_at=now - timedelta(days=i), status_index=1000 + i, signature="sig",
            expires_at=None if i % 3 == 0 else now + timedelta(days=400 - i),
        )
        for i in range(n)
    )  # fmt: skip


def rows_of(body):
    return re.findall(r">(LIST-\d{4})</a>", body)


def test_the_list_is_paged_at_50_and_sorted_with_the_search_kept_across_links(issued):
    course, _ada, _bob, teacher = issued
    Certificate.objects.all().delete()
    now = timezone.now()
    many_certificates(course, teacher.person, 55, now)
    lt = token(course, teacher, "instructor")
    url = reverse("certificates:course")

    def get(**params):
        return Client().get(url, params, HTTP_X_FINISHLINE_LAUNCH=lt).content.decode()

    first = get()
    assert "55 certificates, 50 a page" in first
    assert rows_of(first) == [f"LIST-{i:04d}" for i in range(50)]  # newest first
    assert "Page 1 of 2" in first
    assert 'href="?&amp;sort=-issued&amp;page=2"' in first
    # By name, whatever the case of the first letter, with the search kept by sort and pages.
    by_name = get(q="learner", sort="-name")
    assert 'href="?q=learner&amp;sort=-name&amp;page=2"' in by_name
    assert 'href="?q=learner&amp;sort=name"' in by_name  # the header link turns the order
    second = get(q="learner", sort="-name", page="2")
    assert rows_of(second) == [f"LIST-{i:04d}" for i in range(4, -1, -1)]
    assert "Page 2 of 2" in second
    # Expiry soonest first, the certificates that never expire last.
    expiring = rows_of(get(sort="expires", page="2"))
    assert all(int(s[-4:]) % 3 == 0 for s in expiring)
    # A page past the end shows the last.
    assert "Page 2 of 2" in get(page="9")


def test_sorting_by_status_follows_the_status_each_row_shows(issued):
    course, _ada, _bob, teacher = issued
    Certificate.objects.all().delete()
    now = timezone.now()
    valid, renewal, expired, revoked, pending = many_certificates(course, teacher.person, 5, now)
    Certificate.objects.filter(pk=renewal.pk).update(renewal_from=now - timedelta(days=1))
    Certificate.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(days=1))
    Certificate.objects.filter(pk=revoked.pk).update(revoked_at=now, revoked_reason="x")
    Certificate.objects.filter(pk=pending.pk).update(signature="")
    lt = token(course, teacher, "instructor")
    body = (
        Client()
        .get(reverse("certificates:course"), {"sort": "status"}, HTTP_X_FINISHLINE_LAUNCH=lt)
        .content.decode()
    )
    shown = [c.serial for c in (valid, renewal, expired, revoked, pending)]
    assert rows_of(body) == shown
    words = re.findall(r"<td>(Valid|Renewal required|Expired|Revoked|Being issued)", body)
    assert words == ["Valid", "Renewal required", "Expired", "Revoked", "Being issued"]
    # The SQL ranking agrees with the status worked out in Python, row by row.
    ranked = Certificate.objects.annotate(rank=status_rank(now)).order_by("rank")
    assert [STATUS_ORDER[c.rank] for c in ranked] == [
        selectors.certificate_status(c, now=now) for c in ranked
    ]
