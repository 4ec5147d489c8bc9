"""Benchmarks: certificate PDFs per minute per worker, and the public verification page's p95.

    .venv/bin/python bench/certificates.py [--smoke] [--certificates 300] [--requests 1000]

Rendering: N learners of one course are recorded as completed, then one process renders,
hashes, stores and signs each certificate (`finish_certificate`, what the queue worker runs);
the goal is 300+ per minute per worker. Verification: the app runs under gunicorn (one sync
worker, DEBUG off) on a loopback port and one client fetches random verification pages
(status, Ed25519 signature check); the goal is a p95 under 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import random
import resource
import time

from _setup import (
    bench_deployment,
    django_on_postgres,
    free_port,
    parse_with_smoke,
    percentile,
    start_gunicorn,
)


def make_completions(n: int) -> list[int]:
    from django.utils import timezone

    from certificates.models import Certificate
    from certificates.services import issue_certificate
    from lti_tool.models import Course, Membership, Person

    deployment = bench_deployment()
    course, _ = Course.objects.get_or_create(
        deployment=deployment, context_id="bench-certificates", defaults={"title": "Fire Safety"}
    )
    Certificate.objects.filter(course=course).delete()
    Membership.objects.filter(course=course).delete()
    now = timezone.now()
    ids = []
    for i in range(n):
        person, _ = Person.objects.get_or_create(
            deployment=deployment, sub=f"bench-cert-{i}", defaults={"name": f"Learner {i:05d}"}
        )
        membership = Membership.objects.create(
            course=course, person=person, role="learner", enrolled_at=now, status_changed_at=now
        )
        cert = issue_certificate(membership, now=now)
        assert cert is not None
        ids.append(cert.pk)
    return ids


def render_all(ids: list[int]) -> tuple[float, int]:
    from certificates.services import finish_certificate

    started = time.perf_counter()
    for cert_id in ids:
        finish_certificate(cert_id)
    elapsed = time.perf_counter() - started
    # Peak resident memory of this worker process (tracemalloc would slow rendering 4x).
    return elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def verify_pages(port: int, serials: list[str], requests: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    times = []
    for i in range(requests + 50):
        serial = random.choice(serials)
        started = time.perf_counter()
        conn.request("GET", f"/certificates/verify/{serial}/")
        response = conn.getresponse()
        body = response.read()
        if i >= 50:  # the first requests warm the worker up
            times.append(time.perf_counter() - started)
        assert response.status == 200, body[:300]
        assert b'data-status="valid"' in body, body[:300]
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--certificates", type=int, default=300)
    parser.add_argument("--requests", type=int, default=1000)
    args = parse_with_smoke(parser, certificates=20, requests=50)
    django_on_postgres("finishline_bench_certificates")

    from certificates.models import Certificate

    ids = make_completions(args.certificates)
    elapsed, peak = render_all(ids)
    per_minute = len(ids) / elapsed * 60
    print(f"rendered {len(ids)} certificates in {elapsed:.1f} s: {per_minute:.0f} per minute "
          f"per worker ({elapsed / len(ids) * 1000:.0f} ms each; goal 300+/min); "
          f"peak worker RSS {peak / 2**20:.0f} MiB")  # fmt: skip
    serials = list(Certificate.objects.filter(pk__in=ids).values_list("serial", flat=True))
    port = free_port()
    server = start_gunicorn(port)
    try:
        times = verify_pages(port, serials, args.requests)
    finally:
        server.terminate()
        server.wait()
    p50 = percentile(times, 0.5) * 1000
    print(f"verification page over {len(times)} requests: p50 {p50:.1f} ms, "
          f"p95 {percentile(times, .95) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
          f"(goal p95 < 50 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
