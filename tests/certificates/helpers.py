"""Completed learners for the certificate tests: real events, real scoring, real signals."""

from __future__ import annotations

import io

import pypdf
import zxingcpp
from PIL import Image

from completion.models import CompletionCriteria
from completion.risk.scoring import score_course
from tests.completion.riskdata import add, day, enrol, make_course


def one_page_course(**kwargs):
    course, (page,) = make_course(items=(("page", "The only page"),), **kwargs)
    CompletionCriteria.objects.get_or_create(course=course)
    return course, page


def complete(course, page, membership, capture, *, on=1):
    """The learner finishes the page; scoring runs, and its on-commit work runs too."""
    add(course, membership, "completed", day(on), item=page)
    with capture(execute=True):
        score_course(course.pk, as_of=day(on).date())


def learner(course, sub, *, email=None, person=None):
    membership = enrol(course, sub, person=person)
    if email is not None:
        membership.person.email = email
        membership.person.save()
    return membership


def qr_urls(pdf_bytes: bytes) -> list[str]:
    """Every QR code in the PDF's images, decoded (as a phone camera would read them)."""
    found = []
    for page in pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages:
        for image in page.images:
            picture = Image.open(io.BytesIO(image.data))
            found += [r.text for r in zxingcpp.read_barcodes(picture)]
    return found
