"""Benchmark: xAPI statements over HTTP, batches of 100, on PostgreSQL.

Creates and migrates the bench database if needed (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/finishline_bench), seeds a course with 2,000 learners,
issues an xAPI credential, starts the app under gunicorn (sync workers, DEBUG off) on a free
loopback port, and posts batches of 100 statements from several client threads. Every
statement is a learner on the roster, so each one is validated, stored verbatim and written
to the timeline. Prints statements/s and the p50/p95 time per batch, and checks the counts.
Then times GET /statements filtered by agent, by activity and by both (limit 50), as an LRS
client reading a learner's statements back would, against everything stored so far.

    .venv/bin/python bench/xapi.py [--batches 1000] [--clients 6] [--workers 3] [--keep]
        [--queries 200] [--smoke]

`--smoke` (for CI) sends 20 batches from 2 clients to 1 worker and 5 queries of each kind: it
proves the path works end to end in seconds; its figures are not the floor's.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import resource
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _setup import (
    bench_deployment,
    django_on_postgres,
    free_port,
    parse_with_smoke,
    percentile,
    start_gunicorn,
)

LEARNERS = 2000
FLOOR = 5000  # statements/s a full run must reach (measured 5,700-6,800 on the 2-core machine)


def statement(n: int) -> dict[str, Any]:
    """A statement as Moodle's logstore_xapi or an H5P player would send it."""
    return {
        "id": str(uuid.uuid4()),
        "actor": {
            "objectType": "Agent",
            "name": f"Learner {n % LEARNERS}",
            "account": {"homePage": "https://lms.example.edu", "name": f"bench-{n % LEARNERS}"},
        },
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/completed",
            "display": {"en-US": "completed"},
        },
        "object": {
            "objectType": "Activity",
            "id": f"https://lms.example.edu/mod/page/view.php?id={n % 80}",
            "definition": {
                "name": {"en-US": f"Page {n % 80}"},
                "type": "http://id.tincanapi.com/activitytype/lms/module",
            },
        },
        "result": {"completion": True, "duration": "PT4M12S", "score": {"scaled": 0.8}},
        "context": {
            "platform": "Moodle",
            "language": "en",
            "contextActivities": {
                "grouping": [
                    {
                        "id": "https://lms.example.edu/course/view.php?id=7",
                        "definition": {"type": "http://id.tincanapi.com/activitytype/lms/course"},
                    }
                ]
            },
        },
        "timestamp": "2026-03-02T10:00:00.000Z",
    }


def seed(*, fresh: bool) -> str:
    """The roster and a credential; returns the Basic authorization header.

    With `fresh`, the event store of the bench database starts empty, so runs compare; without,
    each run adds to the tables of the runs before (index upkeep grows with them).
    """
    from django.db import connection
    from django.utils import timezone

    from lti_tool.keys.credentials import issue_credential
    from lti_tool.models import Course, Membership, Person

    deployment = bench_deployment()
    course, _ = Course.objects.get_or_create(deployment=deployment, context_id="7")
    if not Person.objects.filter(deployment=deployment, sub="bench-0").exists():
        people = Person.objects.bulk_create(
            [Person(deployment=deployment, sub=f"bench-{n}") for n in range(LEARNERS)]
        )
        now = timezone.now()
        Membership.objects.bulk_create(
            [
                Membership(
                    course=course, person=p, role="learner", enrolled_at=now, status_changed_at=now
                )
                for p in people
            ]
        )
    issued = issue_credential(
        deployment=deployment, kind="xapi", name="bench", actor="bench", rate_limit_per_minute=10**9
    )
    with connection.cursor() as cursor:
        if fresh:
            cursor.execute(
                "TRUNCATE completion_activity, completion_pendingactivity, "
                "completion_xapistatement, completion_item CASCADE"
            )
        cursor.execute("ANALYZE")  # as autovacuum would on a live database
    return "Basic " + base64.b64encode(f"{issued.key}:{issued.secret}".encode()).decode()


def poster(port: int, auth: str) -> Any:
    local = threading.local()
    headers = {
        "Authorization": auth,
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }

    def post(body: bytes) -> float:
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        local.conn = conn
        conn.request("POST", "/xapi/statements", body=body, headers=headers)
        response = conn.getresponse()
        text = response.read()
        conn.close()
        if response.status != 200:
            raise SystemExit(f"HTTP {response.status}: {text[:300]!r}")
        return time.perf_counter() - started

    return post


def query_timings(port: int, auth: str, queries: int) -> dict[str, list[float]]:
    """Seconds per GET /statements for each kind of filter, over varied learners and pages."""
    headers = {"Authorization": auth, "X-Experience-API-Version": "1.0.3"}
    kinds = {
        "agent": lambda n: {"agent": json.dumps(statement(n)["actor"])},
        "activity": lambda n: {"activity": statement(n)["object"]["id"]},
        "agent and activity": lambda n: {
            "agent": json.dumps(statement(n)["actor"]),
            "activity": statement(n)["object"]["id"],
        },
    }
    timings: dict[str, list[float]] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for kind, params in kinds.items():
        timings[kind] = []
        for n in range(queries):
            query = urllib.parse.urlencode({**params(n * 37), "limit": 50})
            started = time.perf_counter()
            conn.request("GET", f"/xapi/statements?{query}", headers=headers)
            response = conn.getresponse()
            body = response.read()
            timings[kind].append(time.perf_counter() - started)
            if response.status != 200 or not json.loads(body)["statements"]:
                raise SystemExit(f"GET {query}: HTTP {response.status} {body[:200]!r}")
    conn.close()
    return timings


def postgres_cpu_seconds() -> float:
    """CPU time of all local postgres processes so far (Linux /proc), 0 where unreadable."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)
            if "postgres" in fields[0]:
                utime, stime = fields[1].split()[11:13]
                total += int(utime) + int(stime)
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep earlier runs' events")
    parser.add_argument("--queries", type=int, default=200, help="GETs of each kind")
    args = parse_with_smoke(parser, batches=20, clients=2, workers=1, queries=10)
    django_on_postgres("finishline_bench")
    from completion.models import Activity, XapiStatement

    auth = seed(fresh=not args.keep)
    before = (XapiStatement.objects.count(), Activity.objects.count())
    bodies = [
        json.dumps([statement(b * 100 + i) for i in range(100)]).encode()
        for b in range(args.batches + 10)
    ]
    port = free_port()
    server = start_gunicorn(port, args.workers)
    try:
        post = poster(port, auth)
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(post, bodies[:10]))  # warm every worker
            pg_before, client_before = postgres_cpu_seconds(), time.process_time()
            started = time.perf_counter()
            timings = list(pool.map(post, bodies[10:]))
            elapsed = time.perf_counter() - started
            pg_cpu = postgres_cpu_seconds() - pg_before
            client_cpu = time.process_time() - client_before
        queried = query_timings(port, auth, args.queries)
    finally:
        server.terminate()
        server.wait()
    server_cpu = sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])
    stored = XapiStatement.objects.count() - before[0]
    events = Activity.objects.count() - before[1]
    sent = 100 * len(bodies)
    print(
        f"xAPI over HTTP: {100 * len(timings):,} statements in {len(timings)} batches of 100, "
        f"{args.clients} clients, gunicorn {args.workers} sync workers, PostgreSQL"
    )
    rate = 100 * len(timings) / elapsed
    print(f"throughput: {rate:,.0f} statements/s (floor {FLOOR:,} for a full run)")
    p50, p95 = percentile(timings, 0.5) * 1000, percentile(timings, 0.95) * 1000
    print(f"per batch: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    per_batch = 1000 / len(timings)
    print(
        f"CPU per batch: app {server_cpu * per_batch:.1f} ms (incl. warm-up), "
        f"PostgreSQL {pg_cpu * per_batch:.1f} ms, client {client_cpu * per_batch:.1f} ms"
    )
    print(f"stored {stored:,} of {sent:,} statements sent, {events:,} timeline events")
    if stored != sent or events != sent:
        raise SystemExit("not every statement was stored and put on the timeline")
    total = XapiStatement.objects.count()
    for kind, seconds in queried.items():
        p50, p95 = percentile(seconds, 0.5) * 1000, percentile(seconds, 0.95) * 1000
        print(
            f"GET /statements by {kind} (limit 50, {total:,} stored): "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )


if __name__ == "__main__":
    main()
