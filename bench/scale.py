"""Scale-out: the same scoring and planning load on 1, 2 and 4 django-q2 workers.

    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/scale.py [--smoke] [--courses 20]
        [--learners 400] [--workers 1,2,4] [--repeat 3]

Each course gets a chain (score all its learners for the day, then plan its interventions)
and, racing it, a second full scoring of the same course and day, as when the nightly pass and
a catch-up run meet. A `manage.py qcluster` with W workers runs each round; the round is timed
from the first task queued to the last result stored; rounds are repeated, interleaved, and
each worker count's median is compared. After each round the bench checks that
every course was scored exactly once for the day: one scoring run per course, one score per
learner, no task failed (without the per-course advisory lock the racing writes would collide
or duplicate). The goal: 2 workers do at least 1.7x the work of 1 (on 2 cores).

The broker is Redis when REDIS_URL is set, else PostgreSQL (django-q2's ORM broker); the
database is PostgreSQL (DATABASE_URL, default a bench database on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

from _setup import ROOT, bench_deployment, django_on_postgres, parse_with_smoke

GOAL_2_OVER_1 = 1.7


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--courses", type=int, default=20)
    parser.add_argument("--learners", type=int, default=400, help="per course")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per round at most")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per worker count")
    args = parse_with_smoke(parser, courses=3, learners=30, workers="1,2", repeat=1)
    django_on_postgres("finishline_bench_scale")

    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django_q.models import Failure, Success
    from django_q.tasks import async_chain, async_task, count_group, fetch

    from completion.models import Progress, RiskScore, ScoringRun
    from completion.risk.scoring import today
    from interventions.models import Intervention, OutboundMessage
    from lti_tool.models import Course, Membership, Role

    deployment = bench_deployment()
    courses = []
    for n in range(args.courses):
        course, _ = Course.objects.get_or_create(
            deployment=deployment, context_id=f"scale-{args.learners}-{n}"
        )
        call_command(
            "generate_cohort", "--course", course.context_id, "--learners", str(args.learners),
            "--days", "28", "--seed", str(100 + n), "--if-empty",
        )  # fmt: skip
        courses.append(course.pk)
    day = today().isoformat()
    learners = dict(
        Membership.objects.filter(course_id__in=courses, role=Role.LEARNER)
        .values_list("course_id")
        .annotate(n=Count("id"))
    )
    broker = "Redis" if os.environ.get("REDIS_URL") else "PostgreSQL (ORM broker)"
    print(
        f"load: {len(courses)} courses, {sum(learners.values()):,} learners; per course one "
        f"chain (score, then plan) and one racing full scoring, for {day}; broker {broker}; "
        f"{os.cpu_count()} CPUs"
    )

    def reset() -> None:
        # Every round does the same work: the day's first scoring inserts, later ones upsert.
        Progress.objects.filter(course_id__in=courses, as_of=day).delete()
        RiskScore.objects.filter(membership__course_id__in=courses, as_of=day).delete()
        ScoringRun.objects.filter(course_id__in=courses, as_of=day).delete()
        OutboundMessage.objects.filter(course_id__in=courses).delete()
        Intervention.objects.filter(membership__course_id__in=courses).delete()

    def start_cluster(workers: int) -> subprocess.Popen[bytes]:
        env = {**os.environ, "Q_WORKERS": str(workers), "LOG_LEVEL": "WARNING"}
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        # Ready when a trivial task comes back (workers forked, broker polled).
        probe = async_task("math.floor", 1.5)
        deadline = time.monotonic() + 120
        while fetch(probe) is None:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the worker cluster did not start")
            time.sleep(0.2)
        return process

    def stop_cluster(process: subprocess.Popen[bytes]) -> None:
        # The cluster's own process stops its workers; signalling the whole group made them
        # linger until the kill below.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def run_round(workers: int) -> tuple[float, bool]:
        """One timed round on a fresh cluster; returns tasks per second and whether every
        course was scored exactly once."""
        reset()
        group = f"scale-{workers}-{time.time_ns()}"
        expected = 3 * len(courses)
        cluster = start_cluster(workers)
        connection.close()
        try:
            started = time.perf_counter()
            for course_id in courses:
                async_chain(
                    [
                        ("completion.risk.tasks.score_course_full", (course_id, day)),
                        ("interventions.tasks.plan_course_task", (course_id,)),
                    ],
                    group=group,
                )
                async_task("completion.risk.tasks.score_course_full", course_id, day, group=group)
            deadline = started + args.timeout
            while count_group(group) < expected:  # results stored, failed or not
                if time.perf_counter() > deadline:
                    raise SystemExit(f"round with {workers} workers did not finish in time")
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
        finally:
            stop_cluster(cluster)
        failed = Failure.objects.filter(group=group).count()
        succeeded = Success.objects.filter(group=group).count()
        runs = dict(
            ScoringRun.objects.filter(course_id__in=courses, as_of=day)
            .values_list("course_id")
            .annotate(n=Count("id"))
        )
        scores = dict(
            RiskScore.objects.filter(membership__course_id__in=courses, as_of=day)
            .values_list("membership__course_id")
            .annotate(n=Count("id"))
        )
        duplicates = RiskScore.objects.filter(membership__course_id__in=courses, as_of=day)
        duplicates = duplicates.values("membership_id").annotate(n=Count("id")).filter(n__gt=1)
        once = (
            failed == 0
            and all(runs.get(c) == 1 for c in courses)
            and all(scores.get(c, 0) == learners.get(c, 0) for c in courses)
            and not duplicates.exists()
        )
        planned = Intervention.objects.filter(membership__course_id__in=courses).count()
        rate = expected / elapsed
        print(
            f"{workers} worker{'s' if workers > 1 else ' '}: {expected} tasks in {elapsed:6.1f} s"
            f" = {rate:5.2f} tasks/s; {succeeded} ok, {failed} failed; "
            f"courses scored exactly once today: {'yes' if once else 'NO'} "
            f"({sum(1 for c in courses if runs.get(c) == 1)}/{len(courses)} runs, "
            f"{sum(scores.values()):,}/{sum(learners.values()):,} scores); "
            f"{planned:,} interventions planned; load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        return rate, once

    # Fresh statistics, so the first round is not planned against tables the cohort generator
    # has just filled (a round then took five times as long as the next ones).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # Rounds interleaved (1, 2, 4, 1, 2, 4, ...) so a change in the machine's load falls on
    # every worker count alike; each count's median is compared.
    counts = [int(w) for w in args.workers.split(",")]
    rates: dict[int, list[float]] = {w: [] for w in counts}
    all_once = True
    for _ in range(args.repeat):
        for workers in counts:
            rate, once = run_round(workers)
            rates[workers].append(rate)
            all_once = all_once and once
    results = {w: statistics.median(r) for w, r in rates.items()}
    for workers, rate in results.items():
        runs = ", ".join(f"{r:.2f}" for r in rates[workers])
        print(f"median {workers} worker{'s' if workers > 1 else ''}: {rate:.2f} tasks/s ({runs})")
    if 1 in results and 2 in results:
        ratio = results[2] / results[1]
        verdict = "met" if ratio >= GOAL_2_OVER_1 else "NOT met"
        print(f"2 workers / 1 worker: {ratio:.2f}x (goal >= {GOAL_2_OVER_1}x: {verdict})")
    if 4 in results and 1 in results:
        print(f"4 workers / 1 worker: {results[4] / results[1]:.2f}x (on {os.cpu_count()} CPUs)")
    if not all_once:
        raise SystemExit("a course was not scored exactly once")


if __name__ == "__main__":
    main()
