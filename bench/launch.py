"""Benchmark: the full LTI 1.3 launch on PostgreSQL, in one process, as a browser drives it.

Each launch: OIDC login initiation (GET), the redirect parsed, the test platform signs an
id_token (its RS256 signing is the platform's cost, timed apart), and the launch POST
(validated: state, signature, claims, nonce consumed; launch recorded; launch session opened)
whose response is the landing page itself (no further round trip). Prints launches per second
and p50/p95 latency beside the goals, each request's median and its multiple of a minimal
Django request (a trivial view through the full middleware) timed in the same run, queries
per launch, and one RS256 verification with PyJWT: the floor no implementation can go under.

    .venv/bin/python bench/launch.py [--launches 2000] [--profile] [--smoke]

`--smoke` runs a handful of launches in seconds (CI runs it, so the benchmark cannot rot).
DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/finishline_bench (created and
migrated if missing). DEBUG is off, as in production.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from _setup import django_on_postgres, parse_with_smoke, percentile

STEPS = ("login", "sign", "launch")
GOALS = {"launches/s": 200, "p95 ms": 20, "queries": 8, "ratio": 6}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--launches", type=int, default=2000)
    parser.add_argument("--learners", type=int, default=500)
    parser.add_argument("--courses", type=int, default=20)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the measured launches (CPU time)"
    )
    parser.add_argument(
        "--statements", action="store_true", help="time each SQL statement of the measured run"
    )
    args = parse_with_smoke(parser, launches=20, learners=5, courses=2)
    os.environ.setdefault("DEBUG", "0")
    django_on_postgres("finishline_bench")

    from django.conf import settings
    from django.db import connection
    from django.test import Client

    minimal_path = add_minimal_view()

    from lti_tool.keys.tool import ensure_keys
    from lti_tool.services import register_platform
    from tests.platform.server import TestPlatform

    ensure_keys()
    with TestPlatform(client_id="bench-client", deployment_id="bench-deployment") as platform:
        register_platform(
            issuer=platform.issuer,
            client_id=platform.client_id,
            auth_login_url=platform.auth_login_url,
            auth_token_url=platform.token_url,
            jwks_url=platform.jwks_url,
            deployment_ids=[platform.deployment_id],
            actor="bench",
        )
        client = Client()

        def one(n: int, steps: dict[str, list[float]] | None = None, sub: str = "") -> float:
            sub = sub or f"learner-{n % args.learners}"
            course = f"course-{n % args.courses}"
            cpu = time.process_time()
            marks = [time.perf_counter()]
            login = client.get(
                "/lti/login/",
                {
                    "iss": platform.issuer,
                    "client_id": platform.client_id,
                    "login_hint": sub,
                    "target_link_uri": settings.TOOL_BASE_URL + "/lti/launch/",
                },
            )
            query = parse_qs(urlsplit(login["Location"]).query)
            marks.append(time.perf_counter())
            body = platform.id_token_body(sub=sub, nonce=query["nonce"][0], context_id=course)
            body["https://purl.imsglobal.org/spec/lti/claim/target_link_uri"] = (
                settings.TOOL_BASE_URL + "/lti/launch/"
            )
            token = platform.sign(body)
            marks.append(time.perf_counter())
            # As the platform's auto-submitted form sends it: urlencoded, not multipart.
            launched = client.post(
                "/lti/launch/",
                urlencode({"id_token": token, "state": query["state"][0]}),
                content_type="application/x-www-form-urlencoded",
            )
            assert launched.status_code == 200, launched.content[:300]
            assert b'name="finishline-launch"' in launched.content  # the landing page itself
            marks.append(time.perf_counter())
            forget_expired_cookies(client)
            if steps is not None:
                for name, start, end in zip(STEPS, marks[:-1], marks[1:], strict=True):
                    steps[name].append(end - start)
                steps.setdefault("cpu", []).append(time.process_time() - cpu)
            return marks[-1] - marks[0]

        for n in range(10 if args.smoke else 50):  # warm-up: connections, caches, key set
            one(n)
        queries: list[str] = []
        with connection.execute_wrapper(
            lambda execute, sql, *a: queries.append(sql) or execute(sql, *a)
        ):
            newcomer = f"newcomer-{time.time_ns()}"
            one(0, sub=newcomer)  # a learner not seen yet: the upserts insert
            seen = len(queries)
            one(0, sub=newcomer)  # the same again: the upserts find it
        print(f"queries: first launch of a learner {seen}, a later one {len(queries) - seen}")
        if os.environ.get("BENCH_SHOW_QUERIES"):
            print("\n".join(q[:160] for q in queries))
        minimal = minimal_request(client, minimal_path, 200 if args.smoke else 2000)
        steps: dict[str, list[float]] = {name: [] for name in STEPS}
        run = lambda: [one(n, steps) for n in range(args.launches)]  # noqa: E731
        statements: dict[str, list[float]] = {}
        started = time.perf_counter()
        with connection.execute_wrapper(timed(statements) if args.statements else passthrough):
            timings = profiled(run) if args.profile else run()
        wall = time.perf_counter() - started
        verify = rs256_floor(platform)

    report(timings, steps, wall, verify, len(queries) - seen, minimal, settings)
    if statements:
        print("statements (count, median ms, total ms per launch):")
        for sql, took in sorted(statements.items(), key=lambda kv: -sum(kv[1]))[:16]:
            print(
                f"  {len(took):6d} {statistics.median(took) * 1000:7.3f} "
                f"{sum(took) / len(timings) * 1000:7.3f}  {sql}"
            )


def passthrough(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
    return execute(sql, *args)


def timed(into: dict[str, list[float]]) -> Callable[..., Any]:
    """An execute wrapper that records each statement's time, by the statement's start."""

    def wrapper(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, *args)
        finally:
            key = re.sub(r'"s\d+_x\d+"', '"s…"', " ".join(sql.split())[:90])  # savepoint names
            into.setdefault(key, []).append(time.perf_counter() - start)

    return wrapper


def add_minimal_view() -> str:
    """A trivial view, added to this process's URLs only: the cost of Django itself."""
    from django.http import HttpResponse
    from django.urls import clear_url_caches, path

    from config import urls

    urls.urlpatterns.append(path("bench/minimal/", lambda request: HttpResponse("ok")))
    clear_url_caches()
    return "/bench/minimal/"


def minimal_request(client: Any, url: str, rounds: int) -> float:
    """Median seconds of a GET of the trivial view through the full middleware."""
    times, cpu = [], time.process_time()
    for _ in range(rounds):
        start = time.perf_counter()
        assert client.get(url).status_code == 200
        times.append(time.perf_counter() - start)
    print(f"minimal request: {(time.process_time() - cpu) / rounds * 1000:.3f} ms of CPU each")
    return statistics.median(times)


def forget_expired_cookies(client: Any) -> None:
    """As a browser does: the launch deletes its state cookie (max-age 0), so drop it."""
    for name in [n for n, c in client.cookies.items() if c["max-age"] == 0]:
        del client.cookies[name]


def profiled(run: Callable[[], list[float]]) -> list[float]:
    import cProfile
    import pstats

    # This process's CPU time, not the wall clock: waits on the database (and other people's
    # work on a shared machine) stay out of the figures.
    profile = cProfile.Profile(time.process_time)
    timings = profile.runcall(run)
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(60)
    return timings


def rs256_floor(platform: Any) -> float:
    """Seconds for one PyJWT RS256 decode (signature and claims) of a launch-sized id_token."""
    import jwt

    token = platform.sign(platform.id_token_body(sub="x", nonce="n"))
    public = platform.keys[-1][1].public_key()
    rounds = 1000
    start = time.perf_counter()
    for _ in range(rounds):
        jwt.decode(token, public, algorithms=["RS256"], audience=platform.client_id)
    return (time.perf_counter() - start) / rounds


def report(
    timings: list[float],
    steps: dict[str, list[float]],
    wall: float,
    verify: float,
    queries: int,
    minimal: float,
    settings: Any,
) -> None:
    ms = 1000.0
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[1]
    cpu = steps.pop("cpu")
    tool = [t - s for t, s in zip(timings, steps["sign"], strict=True)]
    rate = len(timings) / wall
    p95 = percentile(timings, 0.95) * ms
    ratio = statistics.median(tool) / minimal
    print(f"launches: {len(timings)} on {engine}, DEBUG={settings.DEBUG}, one process")
    print(
        f"throughput: {rate:.0f} launches/s end to end (goal >= {GOALS['launches/s']}); "
        f"{len(timings) / sum(tool):.0f}/s of tool time, the platform's signing left out"
    )
    print(
        f"latency (login + sign + launch with its landing page): "
        f"p50 {percentile(timings, 0.5) * ms:.2f} ms, p95 {p95:.2f} ms "
        f"(goal < {GOALS['p95 ms']}), max {max(timings) * ms:.2f} ms"
    )
    print(
        f"tool time per launch: p50 {percentile(tool, 0.5) * ms:.2f} ms, "
        f"p95 {percentile(tool, 0.95) * ms:.2f} ms"
    )
    print(f"minimal Django request (trivial view, full middleware): {minimal * ms:.3f} ms")
    print(
        f"this process's CPU time per launch (signing included, waits on the database left "
        f"out): median {statistics.median(cpu) * ms:.2f} ms"
    )
    print(
        "requests (median, and its multiple of the minimal request): "
        + ", ".join(
            f"{name} {statistics.median(v) * ms:.2f} ms"
            + ("" if name == "sign" else f" ({statistics.median(v) / minimal:.1f}x)")
            for name, v in steps.items()
        )
    )
    print(
        f"a launch (login + launch, tool time) is {ratio:.1f}x the minimal request "
        f"(goal < {GOALS['ratio']}x)"
    )
    print(
        f"queries per launch of a returning learner (login + launch + landing): {queries} "
        f"(goal <= {GOALS['queries']})"
    )
    print(f"floor: one RS256 verification (PyJWT decode) {verify * ms:.3f} ms")


if __name__ == "__main__":
    main()
