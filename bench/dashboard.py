"""Benchmark: the first page of every list of a 10,000-learner course on PostgreSQL.

    .venv/bin/python bench/dashboard.py [--smoke] [--learners 10000] [--days 28] [--requests 200]
                                        [--cpu]

Builds one course of N learners with --days days of Progress and RiskScore rows (the Today
page's charts read 28), fired signals and 20 events each (so "last activity" has an index to
search), then serves the app under gunicorn (one sync worker, DEBUG off) and times full page
loads as an instructor would open them: the Today page (where the course home redirects), the
roster (first page, the red tier, sorted by name, page 50, filtered by a signal), the overview,
the interventions page (also with its 10,000 advisor cases, one per learner, sorted by age on
page 20, and filtered to the instructor's sorted by name), certificates (one per learner: the
first page, sorted by status, page 100 by name), the compliance report (first page, page 100,
grouped by department, sorted by learner), the course's business outcomes, the criteria,
playbook and A/B test pages and the manager's team page; then as an administrator the
deployment's business outcomes and the compliance report of every course. The goal is every
first page under 300 ms at p95.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from _setup import (
    bench_deployment,
    django_on_postgres,
    free_port,
    parse_with_smoke,
    percentile,
    start_gunicorn,
)


def build(n: int, days: int = 1) -> tuple[int, int]:
    from django.db import connection
    from django.utils import timezone

    from completion.models import Activity, Item, Progress, RiskScore
    from completion.risk.signals import SignalResult, fired_mask, to_stored
    from lti_tool.models import Course, Membership, Person

    deployment = bench_deployment()
    course, _ = Course.objects.get_or_create(
        deployment=deployment, context_id="bench-dashboard", defaults={"title": "Big course"}
    )
    teacher, _ = Person.objects.get_or_create(deployment=deployment, sub="bench-teacher")
    now = timezone.now()
    staff, _ = Membership.objects.get_or_create(
        course=course, person=teacher,
        defaults={"role": "instructor", "enrolled_at": now, "status_changed_at": now},
    )  # fmt: skip
    if Membership.objects.filter(course=course, role="learner").count() >= n:
        build_cases(course, teacher)
        build_certificates(course)
        return course.pk, staff.pk
    rng = random.Random(7)
    people = Person.objects.bulk_create(
        [Person(deployment=deployment, sub=f"dash-{i}", name=f"Learner {i:05d}",
                email=f"l{i}@example.edu") for i in range(n)],
        batch_size=5000, ignore_conflicts=True,
    )  # fmt: skip
    people = list(Person.objects.filter(deployment=deployment, sub__startswith="dash-"))
    members = Membership.objects.bulk_create(
        [Membership(course=course, person=p, role="learner", enrolled_at=now - timedelta(days=20),
                    status_changed_at=now) for p in people],
        batch_size=5000,
    )  # fmt: skip
    items = [
        Item.objects.create(course=course, external_id=f"i{k}", kind="page", title=f"Page {k}",
                            source="api", position=k)
        for k in range(10)
    ]  # fmt: skip
    day = now.date()
    progress, risks, events = [], [], []
    for m in members:
        done = rng.random() * 100
        p = rng.random()
        tier = "red" if p < 0.3 else "yellow" if p < 0.6 else "green"
        progress.append(Progress(membership=m, course=course, as_of=day, status="in_progress",
                                 status_label="In progress", percent_complete=done, items_done=3,
                                 items_total=10, time_on_task_seconds=3600, expected_percent=60,
                                 gap=60 - done, computed_at=now))  # fmt: skip
        fired = (
            [SignalResult("missed_visits_2", 3.0, 2.0, True, "3 days since last visit")]
            if tier == "red"
            else []
        )
        risks.append(RiskScore(membership=m, course=course, as_of=day, tier=tier, probability=p,
                               change=0.01, reasons=["3 days since last visit"],
                               signals=to_stored(fired), fired_signals=fired_mask(fired),
                               model_used="rules", computed_at=now))  # fmt: skip
        for e in range(20):
            at = now - timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 1000))
            events.append(Activity(course=course, person_id=m.person_id, item=rng.choice(items),
                                   verb="viewed", occurred_at=at, received_at=at, source="api",
                                   source_id=f"{m.pk}-{e}"))  # fmt: skip
    Progress.objects.bulk_create(progress, batch_size=5000)
    RiskScore.objects.bulk_create(risks, batch_size=5000)
    for back in range(1, days):  # the history the Today page's charts read
        earlier = day - timedelta(days=back)
        Progress.objects.bulk_create(
            [Progress(membership_id=r.membership_id, course=course, as_of=earlier,
                      status="in_progress", status_label="In progress",
                      percent_complete=max(r.percent_complete - back, 0), items_done=3,
                      items_total=10, time_on_task_seconds=3600, expected_percent=60,
                      gap=60 - r.percent_complete + back, computed_at=now) for r in progress],
            batch_size=5000,
        )  # fmt: skip
        RiskScore.objects.bulk_create(
            [RiskScore(membership_id=r.membership_id, course=course, as_of=earlier, tier=r.tier,
                       probability=r.probability, change=0.0, reasons=r.reasons, signals={},
                       fired_signals=0, model_used="rules", computed_at=now) for r in risks],
            batch_size=5000,
        )  # fmt: skip
    Activity.objects.bulk_create(events, batch_size=10000)
    build_cases(course, teacher)
    build_certificates(course)
    with connection.cursor() as cursor:  # as autovacuum leaves a settled table
        cursor.execute("VACUUM ANALYZE")
    return course.pk, staff.pk


def build_cases(course: object, teacher: object) -> None:
    """One advisor case per learner, every other one the instructor's, each with its step."""
    from django.db import connection
    from django.utils import timezone

    from interventions.models import AdvisorCase, Intervention
    from lti_tool.models import Membership

    if AdvisorCase.objects.filter(membership__course=course).exists():
        return
    now = timezone.now()
    members = list(Membership.objects.filter(course=course, role="learner").order_by("pk"))
    cases = AdvisorCase.objects.bulk_create(
        [AdvisorCase(membership=m, owner=teacher if i % 2 else None, reason="Failed the quiz",
                     due_at=now, opened_at=now - timedelta(minutes=i), tier=1 + i % 3,
                     percent_complete=i % 100)
         for i, m in enumerate(members)],
        batch_size=5000,
    )  # fmt: skip
    Intervention.objects.bulk_create(
        [Intervention(membership_id=c.membership_id, course=course, playbook="difficulty",
                      step="failed_3", episode="e", tier=1 + i % 3, status="sent",
                      planned_at=now, case=c) for i, c in enumerate(cases)],
        batch_size=5000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def build_certificates(course: object) -> None:
    """A certificate per learner, of every status: valid, renewal due, expired, revoked and
    still being issued (unsigned), issued over the last two years."""
    from django.db import connection
    from django.utils import timezone

    from certificates.models import Certificate
    from lti_tool.models import Membership

    if Certificate.objects.filter(course=course).exists():
        return
    now = timezone.now()
    members = Membership.objects.filter(course=course, role="learner").select_related("person")
    Certificate.objects.bulk_create(
        [Certificate(serial=f"BENCH-{m.pk:08d}", deployment_id=m.course.deployment_id,
                     person_id=m.person_id, course_id=m.course_id, membership=m,
                     learner_name=m.person.name, title="Big course",
                     issued_at=now - timedelta(days=i % 730),
                     expires_at=now + timedelta(days=365 - i % 730),
                     renewal_from=now + timedelta(days=305 - i % 730),
                     revoked_at=now if i % 50 == 0 else None,
                     signature="" if i % 97 == 0 else "sig", status_index=i)
         for i, m in enumerate(members.select_related("course"))],
        batch_size=5000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=10000)
    parser.add_argument("--days", type=int, default=28, help="days of scores kept")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="in-process: CPU time a page costs the app and the database, not wall-clock time",
    )
    args = parse_with_smoke(parser, learners=200, days=3, requests=10)
    django_on_postgres("finishline_bench_dashboard")
    started = time.perf_counter()
    course_id, staff_id = build(args.learners, args.days)
    print(f"course of {args.learners} learners ready in {time.perf_counter() - started:.0f} s")

    from lti_tool.context import LaunchContext
    from lti_tool.launch.sessions import open_session
    from lti_tool.models import Membership

    staff = Membership.objects.select_related("course__deployment").get(pk=staff_id)

    def token(role: str) -> str:
        return open_session(LaunchContext(
            deployment_id=staff.course.deployment_id,
            platform_id=staff.course.deployment.platform_id, person_id=staff.person_id,
            course_id=course_id, membership_id=staff.pk if role == "instructor" else None,
            role=role,
        ), binding="").token  # fmt: skip

    instructor, admin = token("instructor"), token("admin")
    views = {  # name: (path, query, launch); the admin's pages at the end
        "today": ("/course/today/", {}),
        "first page": ("/course/risk/", {}),
        "red tier": ("/course/risk/", {"tier": "red"}),
        "sorted by name": ("/course/risk/", {"sort": "name"}),
        "page 50": ("/course/risk/", {"page": "50"}),
        "signal filter": ("/course/risk/", {"reason": "missed_visits_2"}),
        "overview charts": ("/course/overview/", {}),
        "interventions": ("/messages/course/", {}),
        "cases by age": ("/messages/course/", {"sort": "age", "page": "20"}),
        "my cases": ("/messages/course/", {"assignee": "mine", "sort": "name"}),
        "certificates": ("/certificates/course/", {}),
        "certs by status": ("/certificates/course/", {"sort": "status"}),
        "certs p.100 name": ("/certificates/course/", {"sort": "name", "page": "100"}),
        "compliance": ("/reports/compliance/", {}),
        "compliance p.100": ("/reports/compliance/", {"page": "100"}),
        "compliance grouped": ("/reports/compliance/", {"group_by": "department"}),
        "compliance sorted": ("/reports/compliance/", {"sort": "-learner"}),
        "outcomes": ("/business/course/", {}),
        "criteria": ("/course/criteria/", {}),
        "playbooks": ("/messages/course/playbooks/", {}),
        "experiments": ("/messages/course/experiments/", {}),
        "my team": ("/messages/team/", {}),
        "all outcomes": ("/business/deployment/", {}, "admin"),
        "all compliance": ("/reports/compliance/", {"scope": "all"}, "admin"),
    }
    if args.cpu:
        cpu_per_page(views, instructor, admin, args.requests)
        return
    port = free_port()
    server = start_gunicorn(port)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        for name, (path, params, *role) in views.items():
            lt = admin if role else instructor
            times = []
            for i in range(args.requests + 10):
                t0 = time.perf_counter()
                conn.request(
                    "GET", path + "?" + urlencode(params), headers={"X-Finishline-Launch": lt}
                )
                response = conn.getresponse()
                body = response.read()
                assert response.status == 200, (name, response.status, body[:500])
                if i >= 10:
                    times.append(time.perf_counter() - t0)
            p50, p95 = percentile(times, 0.5) * 1000, percentile(times, 0.95) * 1000
            verdict = "met" if p95 < 300 else "NOT met"
            print(f"{name:>18}: p50 {p50:6.1f} ms, p95 {p95:6.1f} ms  (goal < 300 ms: {verdict})")
        print("goal: every first page under 300 ms at p95")
    finally:
        server.terminate()
        server.wait()


def _backend_cpu() -> float:
    """Seconds of CPU the database's server process for this connection has used (Linux)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_page(views: dict[str, tuple], instructor: str, admin: str, requests: int) -> None:
    """The mean CPU time of each page in this process (Django's test client, no HTTP server)
    and in its PostgreSQL server process: on a machine shared with other work, wall-clock
    times measure the other work too; CPU time does not. Needs the server on this host."""
    from django.test import Client

    client = Client()
    for name, (path, params, *role) in views.items():
        lt = admin if role else instructor
        for _ in range(3):
            assert client.get(path, params, HTTP_X_FINISHLINE_LAUNCH=lt).status_code == 200
        app, db = time.process_time(), _backend_cpu()
        for _ in range(requests):
            client.get(path, params, HTTP_X_FINISHLINE_LAUNCH=lt)
        app_ms = (time.process_time() - app) * 1000 / requests
        db_ms = (_backend_cpu() - db) * 1000 / requests
        print(f"{name:>18}: app {app_ms:6.1f} ms + database {db_ms:6.1f} ms CPU a request")


if __name__ == "__main__":
    main()
