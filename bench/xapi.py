"""Benchmark: xAPI statements over HTTP, batches of 100, on PostgreSQL.

Starts the app in a separate server process (Django's threaded server, DEBUG off), issues an
xAPI credential, and posts batches from several client threads. Prints statements/s and the
p50/p95 time per batch.

    .venv/bin/python bench/xapi.py [--batches 300] [--clients 4]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from _setup import ROOT, bench_deployment, django_on_postgres, percentile


def statement(n: int) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"account": {"homePage": "https://lms.example.edu", "name": f"bench-{n % 2000}"}},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/experienced",
            "display": {"en-US": "experienced"},
        },
        "object": {
            "id": f"https://lms.example.edu/mod/page/view.php?id={n % 80}",
            "definition": {
                "name": {"en-US": f"Page {n % 80}"},
                "type": "http://adlnet.gov/expapi/activities/module",
            },
        },
        "result": {"duration": "PT4M12S"},
        "context": {
            "extensions": {
                "https://purl.imsglobal.org/spec/lti/claim/context": {"id": "bench-course"}
            }
        },
        "timestamp": "2026-03-02T10:00:00+00:00",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    django_on_postgres("finishline_bench_xapi")
    from lti_tool.credentials import issue_credential
    from lti_tool.models import Course, Membership, Person

    deployment = bench_deployment()
    course, _ = Course.objects.get_or_create(deployment=deployment, context_id="bench-course")
    if not Person.objects.filter(deployment=deployment).exists():
        from django.utils import timezone

        people = Person.objects.bulk_create(
            [Person(deployment=deployment, sub=f"bench-{n}") for n in range(2000)]
        )
        Membership.objects.bulk_create(
            [
                Membership(
                    course=course,
                    person=p,
                    role="learner",
                    enrolled_at=timezone.now(),
                    status_changed_at=timezone.now(),
                )
                for p in people
            ]
        )
    issued = issue_credential(
        deployment=deployment,
        kind="xapi",
        name="bench",
        actor="bench",
        rate_limit_per_minute=10_000_000,
    )
    auth = "Basic " + base64.b64encode(f"{issued.key}:{issued.secret}".encode()).decode()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DEBUG": "0", "LOG_LEVEL": "ERROR", "FINISHLINE_ENV": "development"}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/xapi/statements"
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/xapi/about", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        headers = {
            "Authorization": auth,
            "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json",
        }
        bodies = [
            json.dumps([statement(b * 100 + i) for i in range(100)]) for b in range(args.batches)
        ]
        session_per_thread: dict[int, requests.Session] = {}

        def post(body: str) -> float:
            import threading

            session = session_per_thread.setdefault(threading.get_ident(), requests.Session())
            t = time.perf_counter()
            response = session.post(url, data=body, headers=headers, timeout=60)
            assert response.status_code == 200, response.text[:300]
            return time.perf_counter() - t

        for body in bodies[:5]:
            post(body)
        t = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            timings = list(pool.map(post, bodies[5:]))
        elapsed = time.perf_counter() - t
    finally:
        server.terminate()
        server.wait()
    statements = 100 * len(timings)
    print(
        f"xAPI: {statements:,} statements in {len(timings)} batches of 100, {args.clients} clients"
    )
    print(f"throughput: {statements / elapsed:,.0f} statements/s")
    p50, p95 = percentile(timings, 0.5) * 1000, percentile(timings, 0.95) * 1000
    print(f"per batch: p50 {p50:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    main()
