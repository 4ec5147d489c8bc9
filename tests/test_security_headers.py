"""Every page's security headers: a strict policy everywhere, HSTS and https in https mode.

The pages are found by walking the URL configuration, so a page added later is checked too.
Each is asked for as an admin inside a course, as a learner and with no launch at all.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from lti_tool.models import Membership
from tests.completion.riskdata import enrol, make_course
from tests.helpers import token_for

pytestmark = pytest.mark.django_db

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
SAMPLE = {"int": "1", "str": "x", "slug": "x", "uuid": "00000000-0000-0000-0000-000000000001"}


def every_path(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from every_path(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            if route.startswith("^") or "(?P" in route:
                continue  # the Django admin's regex routes: checked through its login page
            yield "/" + _CONVERTER.sub(lambda m: SAMPLE.get(m.group(1) or "str", "x"), route)


def check_policy(path, response):
    csp = response.get("Content-Security-Policy", "")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if " " in d.strip())
    where = f"{path} ({response.status_code})"
    assert "frame-ancestors" in directives, where
    if directives.get("default-src") == "'none'":  # the certificate preview's stricter policy
        assert directives.get("default-src") == "'none'", where
        return
    assert directives.get("default-src") == "'self'", where
    assert directives.get("script-src") == "'self'", where  # no inline script, no eval
    assert directives.get("object-src") == "'none'", where
    assert directives.get("base-uri") == "'none'", where
    assert directives.get("form-action", "").startswith("'self'"), where
    assert response.get("X-Content-Type-Options") == "nosniff", where
    assert response.get("Referrer-Policy") == "same-origin", where
    if response.get("Content-Type", "").startswith("text/html"):
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script: {where}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler: {where}"


def test_every_page_has_a_strict_policy_for_every_kind_of_visitor(settings):
    course, _ = make_course()
    admin = enrol(course, "admin", role="admin")
    learner = enrol(course, "ada")
    visitors = {
        "nobody": {},
        "admin": {"HTTP_X_FINISHLINE_LAUNCH": token_for(admin, "admin")},
        "learner": {"HTTP_X_FINISHLINE_LAUNCH": token_for(learner, "learner")},
    }
    paths = [*sorted(set(every_path())), "/django-admin/login/", "/no-such-page/"]
    assert len(paths) > 40
    checked = 0
    for headers in visitors.values():
        client = Client(raise_request_exception=False)
        for path in paths:
            check_policy(path, client.get(path, **headers))
            checked += 1
    assert Membership.objects.count() == 2
    assert checked == 3 * len(paths)


def test_the_not_found_page_lists_no_url_patterns(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"django-admin" not in response.content
    assert b"URLconf" not in response.content


def test_https_mode_redirects_plain_http_and_sends_hsts(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    client = Client()
    plain = client.get("/lti/jwks/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/lti/jwks/"
    secure = client.get("/lti/jwks/", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000"
