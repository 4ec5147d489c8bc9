"""Benchmark: CSV backfill into the event store on PostgreSQL, beside the raw COPY floor.

Writes a CSV of N events (streamed to disk) for a cohort of learners, imports it with
`completion.ingest.files.imports.import_file` (one pass: validate, COPY into staging, INSERT
into the indexed event store), and prints events/s, the import's peak RSS, and the rate of a
plain binary COPY of the same number of rows into an unindexed table. Then it imports
--overlap new events over the same period (each chunk's keys are probed, then a plain
INSERT), and that file once more (every row a duplicate: `INSERT … ON CONFLICT DO NOTHING`),
and prints both rates.

    .venv/bin/python bench/import_events.py [--smoke] [--events 10000000] [--overlap 1000000]
        [--learners 5000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _setup import bench_deployment, django_on_postgres, parse_with_smoke

HEADER = "learner_id,course_id,item_id,item_type,verb,timestamp,duration_seconds,score,source_id\n"
VERBS = ("viewed", "progressed", "completed", "attempted", "passed", "failed", "posted")


def write_csv(path: Path, events: int, learners: int, run: str) -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    with path.open("w") as f:
        f.write(HEADER)
        for i in range(events):
            when = (start + timedelta(seconds=i * 7)).isoformat()
            f.write(
                f"bench-{i % learners},bench-course,item-{i % 60},page,{VERBS[i % 7]},{when},"
                f"{30 + i % 90},,{run}-{i}\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--overlap", type=int, default=1_000_000)
    parser.add_argument("--learners", type=int, default=5000)
    args = parse_with_smoke(parser, events=20_000, overlap=2_000, learners=100)
    django_on_postgres("finishline_bench_import")

    from django.db import connection

    from completion.ingest.files.imports import import_file
    from lti_tool.models import Course, Membership, Person

    deployment = bench_deployment()
    course, _ = Course.objects.get_or_create(deployment=deployment, context_id="bench-course")
    if Person.objects.filter(deployment=deployment).count() < args.learners:
        now = datetime.now(UTC)
        people = Person.objects.bulk_create(
            [Person(deployment=deployment, sub=f"bench-{n}") for n in range(args.learners)],
            ignore_conflicts=True,
        )
        people = list(Person.objects.filter(deployment=deployment))
        Membership.objects.bulk_create(
            [
                Membership(
                    course=course, person=p, role="learner", enrolled_at=now, status_changed_at=now
                )
                for p in people
            ],
            ignore_conflicts=True,
        )

    run = f"run{int(time.time())}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.csv"
        write_csv(path, args.events, args.learners, run)
        size = path.stat().st_size
        t = time.perf_counter()
        batch = import_file(deployment=deployment, path=path, file_format="csv", created_by="bench")
        elapsed = time.perf_counter() - t
        assert batch.status == "done", batch.rejected[:3]
        import_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        overlap_rate = repeat_rate = 0.0
        if args.overlap:
            path.unlink()
            write_csv(path, args.overlap, args.learners, f"{run}-again")
            t = time.perf_counter()
            again = import_file(
                deployment=deployment, path=path, file_format="csv", created_by="bench"
            )
            overlap_rate = args.overlap / (time.perf_counter() - t)
            assert again.rows_stored == args.overlap, (again.status, again.rows_duplicate)
            t = time.perf_counter()
            repeat = import_file(
                deployment=deployment, path=path, file_format="csv", created_by="bench"
            )
            repeat_rate = args.overlap / (time.perf_counter() - t)
            assert repeat.rows_duplicate == args.overlap, (repeat.status, repeat.rows_stored)
        received = datetime.now(UTC)
        rows = (
            (
                course.pk,
                i % args.learners,
                None,
                VERBS[i % 7],
                datetime(2026, 1, 5, tzinfo=UTC),
                received,
                30.0,
                None,
                None,
                "import",
                f"floor-{i}",
            )
            for i in range(args.events)
        )
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_copy_floor")
            cursor.execute(
                "CREATE UNLOGGED TABLE bench_copy_floor (course_id bigint, person_id bigint, "
                "item_id bigint, verb varchar(12), occurred_at timestamptz, received_at "
                "timestamptz, duration_seconds float8, score float8, success bool, source "
                "varchar(10), source_id varchar(255))"
            )
            t = time.perf_counter()
            with cursor.cursor.copy("COPY bench_copy_floor FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(
                    [
                        "bigint",
                        "bigint",
                        "bigint",
                        "varchar",
                        "timestamptz",
                        "timestamptz",
                        "float8",
                        "float8",
                        "bool",
                        "varchar",
                        "varchar",
                    ]
                )
                for row in rows:
                    copy.write_row(row)
            floor = time.perf_counter() - t
            cursor.execute("DROP TABLE bench_copy_floor")
    print(f"file: {args.events:,} events, {size / 1e6:.0f} MB CSV")
    print(
        f"import: {batch.rows_stored:,} stored in {elapsed:.1f} s = "
        f"{args.events / elapsed:,.0f} events/s "
        "(one pass: validation, COPY into staging, plain INSERT into the indexed table)"
    )
    if args.overlap:
        print(
            f"import over a period already stored: {args.overlap:,} new events at "
            f"{overlap_rate:,.0f} events/s (keys probed, then a plain INSERT)"
        )
        print(
            f"the same file again, every row a duplicate: {repeat_rate:,.0f} events/s "
            "(INSERT … ON CONFLICT DO NOTHING)"
        )
    print(
        "floor: raw binary COPY of as many rows into an unindexed table: "
        f"{args.events / floor:,.0f} rows/s"
    )
    print(f"peak RSS of the import: {import_peak:.0f} MiB")


if __name__ == "__main__":
    main()
