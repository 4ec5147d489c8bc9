"""Risk scoring at scale on PostgreSQL: 100,000 enrolments and 20,000,000 events.

Generates the data once with set-based SQL (20 courses x 5,000 learners, 200 events each over
their first 60 days, rolling enrolment), then times and prints:
  * the floor: one raw SQL aggregate over all events (per-learner counts and last activity);
  * the full pass: `score_course` for every course (facts from every event, signals, risk,
    writes), which also keeps each course's facts snapshot;
  * incremental re-scoring of 1,000 learners who have new events (one task per course), right
    after the full pass and once more (as the every-minute schedule would run it next);
  * the daily pass over all 100,000 learners the next day, which reads each course's facts
    snapshot and only the events stored since. Before it, the score tables get the VACUUM
    ANALYZE that autovacuum (on by default in PostgreSQL, off on these machines) gives young
    tables in the day in between: `--no-vacuum` leaves it out, as if the next night came
    straight after the full pass, which is also what tables of long standing see;
  * peak RSS of this process;
  * for each step, the CPU time of Python (this process and its workers) and of everything
    else on the machine, which is the PostgreSQL backends.
Usage: .venv/bin/python bench/risk.py [--smoke] [--fresh] [--courses 20] [--learners 5000]
           [--events 200] [--workers 2] [--no-vacuum]
DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/finishline_bench_risk.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from _setup import parse_with_smoke

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/finishline_bench_risk"
AS_OF = date(2026, 3, 2)
ITEMS = (("page", 6), ("video", 4), ("assessment", 3), ("forum", 1), ("module", 1))


def ensure_database(url: str, fresh: bool) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}"')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_cpu_seconds() -> float:
    """User and system CPU time of the whole machine so far (every process, the database's
    included), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()[1:]
    user, nice, system = (int(v) for v in fields[:3])
    irq, softirq = int(fields[5]), int(fields[6])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """This process's CPU time and that of its finished worker processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    machine, own = machine_cpu_seconds(), own_cpu_seconds()
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds = time.perf_counter() - started
    machine, own = machine_cpu_seconds() - machine, own_cpu_seconds() - own
    print(f"{label:<58} {seconds:8.2f} s   peak RSS {peak_mib():7.0f} MiB", flush=True)
    # Where the time went: Python (this process and its workers) against everything else on
    # the machine, which during a pass is the PostgreSQL backends.
    print(f"  CPU: Python {own:.1f} s, PostgreSQL and the rest {max(machine - own, 0.0):.1f} s")
    return result, seconds


def generate(courses: int, learners: int, events: int) -> None:
    from django.db import connection

    from completion.models import Item
    from lti_tool.models import Course, Deployment, Platform

    platform = Platform.objects.create(
        issuer="https://bench.test",
        client_id="bench",
        auth_login_url="https://bench.test/a",
        auth_token_url="https://bench.test/t",
        jwks_url="https://bench.test/j",
    )
    deployment = Deployment.objects.create(platform=platform, deployment_id="bench")
    for c in range(courses):
        course = Course.objects.create(
            deployment=deployment, context_id=f"bench-{c}", title=f"Bench course {c}"
        )
        Item.objects.bulk_create(
            [
                Item(
                    course=course,
                    external_id=f"{kind}-{k}",
                    kind=kind,
                    title=f"{kind} {k}",
                    source="import",
                    position=k,
                )
                for kind, n in ITEMS
                for k in range(n)
            ]
        )
    start = AS_OF - timedelta(days=89)
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO lti_tool_person (deployment_id, sub, name, given_name, family_name, email,
                sourced_id, locale, timezone, attributes, canvas_user_id, created_at, updated_at)
            SELECT %s, 'p' || g, 'Learner ' || g, '', '', '', '', '', '', '{}', '', now(), now()
            FROM generate_series(1, %s) g""",
            [deployment.pk, courses * learners],
        )
        cur.execute(
            """
            INSERT INTO lti_tool_membership (course_id, person_id, role, lti_roles, status,
                enrolled_at, status_changed_at)
            SELECT c.id, p.id, 'learner', '[]', 'active', e.at, e.at
            FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM lti_tool_person
                  WHERE deployment_id = %s) p
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM lti_tool_course
                  WHERE deployment_id = %s) c ON c.n = p.n %% %s
            CROSS JOIN LATERAL (SELECT %s::timestamptz + (random() * 60) * interval '1 day'
                                AS at) e""",
            [deployment.pk, deployment.pk, courses, start],
        )
        cur.execute("""
            CREATE TEMP TABLE bench_items AS
            SELECT course_id, array_agg(id ORDER BY id) AS ids FROM completion_item
            GROUP BY course_id""")
        # Indexes are dropped for the load and rebuilt after: much faster than row by row.
        cur.execute("""
            SELECT indexname, indexdef FROM pg_indexes
            WHERE tablename = 'completion_activity' AND indexname NOT LIKE '%%pkey'
              AND indexname <> 'activity_source_key'""")
        indexes = cur.fetchall()
        # The unique key is rebuilt from the schema's own definition (its column order
        # decides which queries it serves), not from a copy here that could go stale.
        cur.execute("""
            SELECT pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conname = 'activity_source_key'
              AND conrelid = 'completion_activity'::regclass""")
        found = cur.fetchone()
        if found is None:
            raise SystemExit("completion_activity has no activity_source_key: migrate first")
        (source_key,) = found
        cur.execute("ALTER TABLE completion_activity DROP CONSTRAINT activity_source_key")
        for name, _ in indexes:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
        cur.execute("SET session_replication_role = replica")  # no FK triggers for the load
        cur.execute(
            """
            INSERT INTO completion_activity (course_id, person_id, item_id, verb, occurred_at,
                received_at, duration_seconds, score, success, source, source_id)
            SELECT m.course_id, m.person_id,
                   CASE WHEN v.verb IN ('logged_in', 'errored') THEN NULL
                        ELSE b.ids[1 + floor(random() * array_length(b.ids, 1))::int] END,
                   v.verb, t.at, t.at,
                   CASE WHEN v.verb IN ('viewed', 'progressed') THEN random() * 900 END,
                   CASE WHEN v.verb IN ('passed', 'failed') THEN random() END,
                   NULL, 'import', m.id || '-' || g
            FROM lti_tool_membership m
            JOIN bench_items b ON b.course_id = m.course_id
            CROSS JOIN LATERAL generate_series(1, %s) g
            CROSS JOIN LATERAL (SELECT m.enrolled_at + (random() ^ 1.6)
                * least(60, extract(epoch FROM (%s::timestamptz - m.enrolled_at)) / 86400)
                * interval '1 day' AS at, random() AS r WHERE g > 0) t
            CROSS JOIN LATERAL (SELECT CASE
                WHEN t.r < 0.40 THEN 'viewed' WHEN t.r < 0.62 THEN 'progressed'
                WHEN t.r < 0.72 THEN 'logged_in' WHEN t.r < 0.80 THEN 'completed'
                WHEN t.r < 0.86 THEN 'attempted' WHEN t.r < 0.90 THEN 'passed'
                WHEN t.r < 0.93 THEN 'failed' WHEN t.r < 0.95 THEN 'submitted'
                WHEN t.r < 0.985 THEN 'posted' ELSE 'errored' END AS verb) v
            WHERE m.role = 'learner'""",
            [events, AS_OF],
        )
        cur.execute("SET session_replication_role = DEFAULT")
        for _, definition in indexes:
            cur.execute(definition)
        cur.execute(
            f"ALTER TABLE completion_activity ADD CONSTRAINT activity_source_key {source_key}"
        )
    # The load ran without triggers, the tally's among them.
    from completion.risk.scoring import recount_tally

    recount_tally()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE completion_activity, completion_activitytally")


def forget_scores() -> None:
    """Every run times the same thing: a course's first scoring, then the next day's."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE completion_progress, completion_riskscore, completion_scoringrun, "
            "completion_factssnapshot"
        )
        # The generated events all precede AS_OF; a previous run's new ones do not.
        cur.execute(
            "DELETE FROM completion_activity WHERE occurred_at >= %s "
            "AND course_id IN (SELECT id FROM lti_tool_course)",
            [AS_OF],
        )


def settle() -> None:
    """Write out the previous step's dirty pages first, so no step pays for the one before."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("CHECKPOINT")


def day_between() -> None:
    """What autovacuum does in the day after a young course's first pass: it vacuums the
    score tables, setting the hint bits and visibility map that the next night's reads of
    the new rows would otherwise set themselves, and analyzes them. Once the tables hold
    months of rows, a night's inserts stay under autovacuum's thresholds, so `--no-vacuum`
    is the closer model there."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "VACUUM ANALYZE completion_progress, completion_riskscore, completion_scoringrun, "
            "completion_factssnapshot"
        )


def floor_aggregate() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("""SELECT person_id, count(*), max(occurred_at)
                       FROM completion_activity GROUP BY person_id""")
        return len(cur.fetchall())


CHILD_PEAKS: list[float] = []


def _score_one(job: tuple[int, str]) -> tuple[int, float]:
    from completion.risk.tasks import score_course_full

    summary = score_course_full(job[0], job[1])
    return summary.learners, peak_mib()


def full_pass(course_ids: list[int], as_of: date, workers: int) -> int:
    """One task per course, run by `workers` processes (the django-q cluster's workers)."""
    import multiprocessing

    from django.db import connections

    jobs = [(c, as_of.isoformat()) for c in course_ids]
    if workers <= 1:
        return sum(_score_one(job)[0] for job in jobs)
    connections.close_all()  # children open their own connections
    with multiprocessing.get_context("fork").Pool(workers, maxtasksperchild=None) as pool:
        results = pool.map(_score_one, jobs, chunksize=1)
    CHILD_PEAKS.append(max(peak for _, peak in results))
    return sum(n for n, _ in results)


def add_new_events(course_ids: list[int], learners: int, at_day: date) -> None:
    """One new event for `learners` learners spread over the courses, on `at_day`."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO completion_activity (course_id, person_id, item_id, verb, occurred_at,
                received_at, duration_seconds, score, success, source, source_id)
            SELECT course_id, person_id, NULL, 'logged_in', %s::timestamptz + interval '9 hours',
                   now(), NULL, NULL, NULL, 'api', 'new-' || id || '-' || %s
            FROM (SELECT id, course_id, person_id, row_number() OVER (
                      PARTITION BY course_id ORDER BY id) AS n
                  FROM lti_tool_membership WHERE course_id = ANY(%s)) m
            WHERE n <= %s""",
            [at_day, time.time_ns(), course_ids, max(learners // len(course_ids), 1)],
        )


def _rescore_one(job: tuple[int, str]) -> tuple[int, float]:
    from completion.risk.tasks import rescore_changed

    summary = rescore_changed(job[0], job[1])
    return (summary.learners if summary else 0), peak_mib()


def incremental(course_ids: list[int], as_of: date, workers: int) -> int:
    """`rescore_changed_courses`' work: one task per course with new events, `workers` at once."""
    import multiprocessing

    from django.db import connections

    from completion.risk.tasks import courses_with_new_events

    courses = courses_with_new_events(as_of)
    jobs = [(c, as_of.isoformat()) for c in courses]
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        results = pool.map(_rescore_one, jobs, chunksize=1)
    return sum(n for n, _ in results)


def daily_pass(course_ids: list[int], as_of: date, workers: int) -> int:
    """The next day's pass over everyone: one task per course (as the nightly schedule runs)."""
    return full_pass(course_ids, as_of, workers)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the data")
    parser.add_argument("--courses", type=int, default=20)
    parser.add_argument("--learners", type=int, default=5000, help="per course")
    parser.add_argument("--events", type=int, default=200, help="per learner")
    parser.add_argument("--workers", type=int, default=2, help="processes for the passes")
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="no VACUUM ANALYZE of the score tables before the daily pass",
    )
    args = parse_with_smoke(parser, courses=2, learners=50, events=20, workers=1, fresh=True)
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("FINISHLINE_ENV", "demo")  # its own random key, loopback only
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    ensure_database(url, args.fresh)
    import django

    django.setup()
    from django.core.management import call_command

    # A django-q worker imports the task modules once, at start; so does this process before
    # it forks its workers, so no timed step pays for an import.
    import completion.risk.tasks  # noqa: F401
    from completion.models import Activity
    from lti_tool.models import Course, Membership

    call_command("migrate", verbosity=0)
    if not Membership.objects.exists():
        timed(
            f"generate {args.courses * args.learners:,} enrolments and "
            f"{args.courses * args.learners * args.events:,} events",
            generate,
            args.courses,
            args.learners,
            args.events,
        )
    forget_scores()
    settle()
    course_ids = list(Course.objects.order_by("pk").values_list("pk", flat=True))
    enrolments = Membership.objects.count()
    print(
        f"data: {len(course_ids)} courses, {enrolments:,} enrolments, "
        f"~{Activity.objects.count():,} events; scoring as of {AS_OF}",
        flush=True,
    )
    timed("floor: one SQL aggregate (count, last activity per person)", floor_aggregate)
    scored, seconds = timed(
        f"full pass over every course ({args.workers} workers)",
        full_pass,
        course_ids,
        AS_OF,
        args.workers,
    )
    print(f"  {scored:,} learners scored, {scored / seconds:,.0f} learners/s")
    for label in ("first after the full pass", "again, the next run"):
        add_new_events(course_ids, 1000, AS_OF)
        settle()
        scored, _ = timed(
            f"incremental, {label} ({args.workers} workers)",
            incremental,
            course_ids,
            AS_OF,
            args.workers,
        )
        print(f"  {scored:,} learners with new events re-scored")
    next_day = AS_OF + timedelta(days=1)
    add_new_events(course_ids, 1000, next_day)
    if args.no_vacuum:
        print("(no VACUUM ANALYZE of the score tables before the daily pass)")
    else:
        day_between()
    settle()
    scored, _ = timed(
        f"daily pass over everyone, next day ({args.workers} workers)",
        daily_pass,
        course_ids,
        next_day,
        args.workers,
    )
    print(f"  {scored:,} learners scored for {next_day}")
    print(
        f"peak RSS: this process {peak_mib():.0f} MiB; largest worker "
        f"{max(CHILD_PEAKS, default=0):.0f} MiB (each worker is a separate process)"
    )


if __name__ == "__main__":
    main()
