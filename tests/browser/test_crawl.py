"""Every page of the demo, as each role: no internal code, Python repr or debug page, and
axe-core finds no serious violation. Starts from the role's landing page and its navigation
bar and follows the links of this site it finds, a few per address, saving a screenshot of
each page it reaches from the bar (artifacts/screenshots/crawl-ROLE-LABEL.png)."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from completion.wording import SIGNALS
from interventions.planning.playbooks import DEFAULT_PLAYBOOKS
from tests.browser.conftest import screenshot
from tests.browser.test_journeys import check_page, launch, open_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_PAGES = 30  # per role
PER_PATH = 2  # addresses differing only in their query (sort, page, filters)
SKIP = re.compile(
    r"/download/|\.pdf|\.jwt|\.json|format=|/lti/|/api/|/django-admin/|/demo/|/xapi/|/caliper/"
    r"|/certificates/verify/|/unsubscribe/|/survey/|/keys|/status/\d+/revocation|/issuer/"
)
LEAKS = {
    "an actor code": re.compile(r"\b(person|learner|staff):\d+"),
    "a reason code": re.compile(r"\bplaybook:[a-z_0-9]+"),
    "a Python repr": re.compile(r"object at 0x|<[A-Za-z_.]+ object|\{'[a-z_]+':|\[\{'|QuerySet"),
    "a debug page": re.compile(r"Traceback|URLconf|Request Method:|Exception Value"),
    "a signal code": re.compile(r"\b(" + "|".join(map(re.escape, SIGNALS)) + r")\b"),
    "a column name": re.compile(r"\b[a-z]+__[a-z_]+\b"),
    "a step code": re.compile(
        r"\b("
        + "|".join(re.escape(s.key) for b in DEFAULT_PLAYBOOKS for s in b.steps if "_" in s.key)
        + r")\b"
    ),
}
# The visible text of a page, without code samples (URLs to copy) and charts' own markup.
VISIBLE_TEXT = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('code, pre, script, style, svg, template').forEach(n => n.remove());
  return body.innerText;
}"""


@pytest.fixture
def demo(demo_server):
    call_command("generate_cohort", course="demo-course-safety-101", learners=40, days=21,
                 seed=3, verbosity=0)  # fmt: skip
    call_command("prepare_demo", days=21, verbosity=0)
    return demo_server


def leaks_in(text: str) -> list[str]:
    return [f"{what}: {m.group(0)!r}" for what, rx in LEAKS.items() if (m := rx.search(text))]


def crawl(server, audit, lt: str, role: str) -> dict[str, list[str]]:
    origin = server.url
    open_as(audit, origin + "/me/" if role == "learner" else origin + "/", lt)
    start = {
        "instructor": ["/course/today/"],
        "learner": ["/me/progress/"],
        "admin": ["/institution/"],
    }[role]
    queue = deque(start)
    seen: set[str] = set()
    per_path: dict[str, int] = {}
    problems: dict[str, list[str]] = {}
    nav_labels: dict[str, str] = {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        path = urlsplit(url).path
        if url in seen or per_path.get(path, 0) >= PER_PATH:
            continue
        seen.add(url)
        per_path[path] = per_path.get(path, 0) + 1
        response = audit.goto(origin + url)
        status = response.status if response else 0
        found: list[str] = []
        if status >= 400:
            found.append(f"status {status}")
        found += leaks_in(audit.evaluate(VISIBLE_TEXT))
        try:
            check_page(audit, f"{role} {url}")
        except AssertionError as exc:
            found.append(str(exc)[:300])
        if found:
            problems[url] = found
        if url in nav_labels:
            screenshot(audit, f"crawl-{role}-{nav_labels[url].lower().replace(' ', '-')}")
        for label, href in audit.evaluate(
            "() => [...document.querySelectorAll('nav.mainnav a')].map(a => "
            "[a.textContent.trim(), a.getAttribute('href')])"
        ):
            nav_labels.setdefault(href, label)
            queue.appendleft(href) if href not in seen else None
        for href in audit.evaluate(
            "() => [...document.querySelectorAll('main a[href]')].map(a => a.getAttribute('href'))"
        ):
            if href.startswith("?"):
                href = path + href
            if href.startswith("/") and not href.startswith("//") and not SKIP.search(href):
                queue.append(href.split("#")[0])
    assert len(seen) >= 4, f"{role}: only {sorted(seen)} reached"
    return problems


@pytest.mark.parametrize("role", ["instructor", "learner", "admin"])
def test_every_page_of_the_role_reads_as_words(demo, page, audit, role):
    _, lt = launch(page, demo, role)
    screenshot(page, f"crawl-{role}-landing")
    problems = crawl(demo, audit, lt, role)
    assert problems == {}, "\n".join(f"{url}: {found}" for url, found in problems.items())


def test_the_leak_patterns_catch_what_the_issue_saw():
    assert leaks_in("Overridden by person:1")
    assert leaks_in("reason playbook:absent_21")
    assert leaks_in("not_started_48h 51.98")
    assert leaks_in("{'course__context_id': 'x'}")
    assert leaks_in("Using the URLconf defined in config.urls")
    assert not leaks_in("Has not started in the first two days; 3 weeks ago")
