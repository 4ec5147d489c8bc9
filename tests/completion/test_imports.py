"""CSV and JSON Lines imports: reports with line numbers, all-or-nothing, once, nothing lost."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from completion.events.store import match_pending
from completion.ingest.files.imports import import_file
from completion.models import Activity, ImportBatch, PendingActivity
from lti_tool.models import Course, Deployment
from lti_tool.services import upsert_membership, upsert_person
from tests.helpers import subprocess_database_url

ROOT = Path(__file__).resolve().parents[2]
HEADER = (
    "learner_id,learner_email,course_id,item_id,item_type,item_title,verb,timestamp,"
    "duration_seconds,score,success,source_id\n"
)


@pytest.fixture
def roster(platform):
    deployment = Deployment.objects.get()
    course = Course.objects.create(deployment=deployment, context_id="C1", title="Course 1")
    for n in range(3):
        person = upsert_person(deployment=deployment, sub=f"u{n}", email=f"u{n}@example.edu")
        upsert_membership(
            course=course,
            person=person,
            role="learner",
            lti_roles=[],
            status="active",
            at=course.created_at,
            source="admin",
        )
    return deployment


def csv_file(tmp_path, lines, name="events.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(lines))
    return path


def row(n, learner="u0", verb="viewed", stamp="2026-03-02T10:00:00Z", **extra):
    fields = {
        "learner_id": learner,
        "learner_email": "",
        "course_id": "C1",
        "item_id": "m1",
        "item_type": "page",
        "item_title": "Module 1",
        "verb": verb,
        "timestamp": stamp,
        "duration_seconds": "60",
        "score": "",
        "success": "",
        "source_id": f"r{n}",
        **extra,
    }
    return ",".join(str(v) for v in fields.values()) + "\n"


def test_a_clean_file_is_stored_once_even_when_imported_twice(roster, tmp_path):
    path = csv_file(tmp_path, [row(n, learner=f"u{n % 3}") for n in range(30)])
    batch = import_file(deployment=roster, path=path, file_format="csv", created_by="t")
    assert (batch.status, batch.rows_total, batch.rows_stored) == ("done", 30, 30)
    again = import_file(deployment=roster, path=path, file_format="csv", created_by="t")
    assert (again.rows_stored, again.rows_duplicate) == (0, 30)
    assert Activity.objects.count() == 30


def test_broken_rows_are_reported_by_line_and_nothing_is_stored(roster, tmp_path):
    path = csv_file(
        tmp_path,
        [
            row(1),
            row(2, stamp="yesterday"),
            row(3, verb="danced"),
            row(4, source_id=""),
            row(5, score="1.5"),
            row(6, stamp="2026-03-02T10:00:00"),
        ],
    )
    batch = import_file(deployment=roster, path=path, file_format="csv", created_by="t")
    assert batch.status == "rejected"
    assert [(r["line"], r["reason"].split(" ")[0]) for r in batch.rejected] == [
        (3, "timestamp"),
        (4, "verb"),
        (5, "source_id"),
        (6, "score"),
        (7, "timestamp"),
    ]
    assert not Activity.objects.exists()


def test_a_bad_row_after_chunks_were_loaded_still_stores_nothing(roster, tmp_path, monkeypatch):
    # One pass: chunks are copied and inserted while later rows are still being read, so a
    # rejection near the end must undo what the earlier chunks already inserted.
    monkeypatch.setattr("completion.ingest.files.imports.CHUNK", 4)
    rows = [row(n, learner=f"u{n % 3}") for n in range(1, 20)]
    rows += [row(20, verb="danced"), row(21), row(22, score="x")]
    path = csv_file(tmp_path, rows)
    batch = import_file(deployment=roster, path=path, file_format="csv", created_by="t")
    assert (batch.status, batch.rows_total, batch.rows_stored) == ("rejected", 22, 0)
    assert [r["line"] for r in batch.rejected] == [21, 23]
    assert not Activity.objects.exists()
    fixed = csv_file(tmp_path, [row(n, learner=f"u{n % 3}") for n in range(1, 23)], name="ok.csv")
    again = import_file(deployment=roster, path=fixed, file_format="csv", created_by="t")
    assert (again.status, again.rows_stored, again.rows_pending) == ("done", 22, 0)
    assert Activity.objects.count() == 22


def test_a_load_the_database_refuses_fails_the_batch_and_stores_nothing(
    roster, tmp_path, monkeypatch
):
    # A constraint the rows break only in the database: on PostgreSQL the INSERT runs in
    # the loader's worker thread, whose error must surface as Django's and roll back.
    from django.db import IntegrityError, connection

    monkeypatch.setattr("completion.ingest.files.imports.CHUNK", 4)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE completion_activity "
                "ADD CONSTRAINT test_no_posts CHECK (verb <> 'posted')"
            )
        else:
            cursor.execute(
                "CREATE TEMP TRIGGER test_no_posts BEFORE INSERT ON completion_activity "
                "WHEN NEW.verb = 'posted' BEGIN SELECT RAISE(ABORT, 'no posts'); END"
            )
    rows = [row(n, learner=f"u{n % 3}") for n in range(1, 10)] + [row(10, verb="posted")]
    path = csv_file(tmp_path, rows)
    try:
        with pytest.raises(IntegrityError):
            import_file(deployment=roster, path=path, file_format="csv", created_by="t")
    finally:
        if connection.vendor != "postgresql":  # a temporary trigger outlives the test
            with connection.cursor() as cursor:
                cursor.execute("DROP TRIGGER IF EXISTS test_no_posts")
    batch = ImportBatch.objects.get()
    assert batch.status == "failed"
    assert "the database refused the load" in batch.rejected[0]["reason"]
    assert not Activity.objects.exists()


def insert_paths(caplog):
    """How each chunk was inserted on PostgreSQL, in order (the loader logs it)."""
    return [
        r.getMessage().rsplit("insert=", 1)[1]
        for r in caplog.records
        if r.getMessage().startswith("import_chunk ")
    ]


def test_rows_repeated_inside_a_chunk_and_across_chunks_are_stored_once(
    roster, tmp_path, monkeypatch, caplog
):
    # A repeat inside a chunk would break a plain INSERT, and so would a later chunk
    # repeating an earlier one's row: both chunks take ON CONFLICT, the others a plain INSERT.
    from django.db import connection

    caplog.set_level(logging.DEBUG, logger="completion.ingest.files.imports")
    monkeypatch.setattr("completion.ingest.files.imports.CHUNK", 4)
    rows = [row(n, learner=f"u{n % 3}", stamp=f"2026-03-02T10:{n:02d}:00Z") for n in range(1, 13)]
    rows.insert(2, rows[1])
    rows.append(rows[0])
    batch = import_file(
        deployment=roster, path=csv_file(tmp_path, rows), file_format="csv", created_by="t"
    )
    assert (batch.status, batch.rows_total, batch.rows_stored, batch.rows_duplicate) == (
        "done",
        14,
        12,
        2,
    )
    assert Activity.objects.count() == 12
    if connection.vendor == "postgresql":
        assert insert_paths(caplog) == ["on_conflict", "plain", "plain", "on_conflict"]
        assert "import_retried_with_on_conflict" not in caplog.text


def test_new_rows_over_a_stored_period_in_any_order_take_a_plain_insert(
    roster, tmp_path, monkeypatch, caplog
):
    # The period already holds rows, but none of these: each chunk's keys are probed, and
    # a file not sorted by time still loads without ON CONFLICT. Its re-import takes it.
    from django.db import connection

    caplog.set_level(logging.DEBUG, logger="completion.ingest.files.imports")
    monkeypatch.setattr("completion.ingest.files.imports.CHUNK", 4)
    stamps = [f"2026-03-02T10:{n:02d}:00Z" for n in range(12)]
    first = csv_file(tmp_path, [row(n, stamp=s) for n, s in enumerate(stamps)], name="a.csv")
    import_file(deployment=roster, path=first, file_format="csv", created_by="t")
    shuffled = [row(100 + n, learner=f"u{n % 3}", stamp=s) for n, s in enumerate(stamps[::-1])]
    path = csv_file(tmp_path, shuffled, name="b.csv")
    caplog.clear()
    batch = import_file(deployment=roster, path=path, file_format="csv", created_by="t")
    assert (batch.rows_stored, batch.rows_duplicate) == (12, 0)
    again = import_file(deployment=roster, path=path, file_format="csv", created_by="t")
    assert (again.rows_stored, again.rows_duplicate) == (0, 12)
    assert Activity.objects.count() == 24
    if connection.vendor == "postgresql":
        assert insert_paths(caplog) == ["plain"] * 3 + ["on_conflict"] * 3


def test_a_row_another_writer_stored_meanwhile_makes_the_import_load_again_safely(
    roster, tmp_path, monkeypatch, caplog
):
    # The checks saw none of the file's rows stored, but another writer (an overlapping
    # import, say) stored one before the plain INSERT ran: it fails on the unique key, and
    # the file is loaded again with ON CONFLICT, storing that row once.
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL takes a plain INSERT")
    single = csv_file(tmp_path, [row(3, learner="u0")], name="single.csv")
    import_file(deployment=roster, path=single, file_format="csv", created_by="t")
    monkeypatch.setattr(
        "completion.ingest.files.imports._ANY_STAGED_ROW_STORED", "SELECT 1 WHERE false"
    )
    path = csv_file(tmp_path, [row(n, learner="u0") for n in range(1, 6)])
    batch = import_file(deployment=roster, path=path, file_format="csv", created_by="t")
    assert (batch.status, batch.rows_stored, batch.rows_duplicate) == ("done", 4, 1)
    assert Activity.objects.count() == 5
    assert "import_retried_with_on_conflict" in caplog.text


def test_wrong_column_count_and_bad_quoting_are_reported(roster, tmp_path):
    short = csv_file(tmp_path, [row(1), "u0,,C1,m1\n"], name="short.csv")
    assert import_file(
        deployment=roster, path=short, file_format="csv", created_by="t"
    ).rejected == [{"line": 3, "reason": "wrong number of columns"}]
    quoted = csv_file(tmp_path, [row(1), 'u0,"unclosed,C1\n'], name="quoted.csv")
    batch = import_file(deployment=roster, path=quoted, file_format="csv", created_by="t")
    assert batch.status == "rejected"
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("a,b,c\n1,2,3\n")
    reason = import_file(
        deployment=roster, path=headerless, file_format="csv", created_by="t"
    ).rejected[0]
    assert "the header lacks" in reason["reason"]


def test_jsonl_with_a_non_object_line_is_rejected(roster, tmp_path):
    path = tmp_path / "events.jsonl"
    good = {
        "learner_id": "u0",
        "course_id": "C1",
        "verb": "completed",
        "timestamp": "2026-03-02T10:00:00+01:00",
        "source_id": "j1",
        "item_id": "m1",
        "score": 0.9,
        "success": True,
    }
    path.write_text(json.dumps(good) + "\n[1, 2]\n")
    batch = import_file(deployment=roster, path=path, file_format="jsonl", created_by="t")
    assert batch.rejected == [{"line": 2, "reason": "not a JSON object"}]
    path.write_text(json.dumps(good) + "\n")
    assert (
        import_file(deployment=roster, path=path, file_format="jsonl", created_by="t").rows_stored
        == 1
    )
    activity = Activity.objects.get()
    assert (activity.verb, activity.score, activity.success) == ("completed", 0.9, True)


def test_unknown_learners_wait_and_are_matched_after_they_join(roster, tmp_path):
    path = csv_file(tmp_path, [row(1, learner="late"), row(2)])
    batch = import_file(deployment=roster, path=path, file_format="csv", created_by="t")
    assert (batch.rows_stored, batch.rows_pending) == (1, 1)
    person = upsert_person(deployment=roster, sub="late")
    upsert_membership(
        course=Course.objects.get(),
        person=person,
        role="learner",
        lti_roles=[],
        status="active",
        at=person.created_at,
        source="nrps",
    )
    assert match_pending(deployment=roster).stored == 1
    assert not PendingActivity.objects.exists()


def test_command_prints_the_report(roster, tmp_path):
    path = csv_file(tmp_path, [row(1, verb="danced")])
    with pytest.raises(CommandError, match="line 2: verb 'danced'"):
        call_command(
            "import_events", str(path), "--deployment", Deployment.objects.get().deployment_id
        )


def test_check_validates_without_storing(roster, tmp_path, capsys):
    deployment = Deployment.objects.get().deployment_id
    bad = csv_file(tmp_path, [row(1), row(2, stamp="soon")], name="bad.csv")
    with pytest.raises(CommandError, match="line 3: timestamp 'soon'"):
        call_command("import_events", str(bad), "--deployment", deployment, "--check")
    good = csv_file(tmp_path, [row(1), row(2)], name="good.csv")
    call_command("import_events", str(good), "--deployment", deployment, "--check")
    assert "2 rows, all valid; nothing stored." in capsys.readouterr().out
    assert not Activity.objects.exists()
    assert not ImportBatch.objects.exists()


def big_import(tmp_path, n):
    """A demo course and the command importing `n` rows about it in a subprocess."""
    from django.core.management import call_command as run

    run("seed_demo")
    deployment = Deployment.objects.get()
    course = Course.objects.get()
    path = tmp_path / "big.csv"
    with path.open("w") as f:
        f.write(HEADER)
        for i in range(n):
            f.write(
                f"demo-learner-{i % 6 + 1},,{course.context_id},m{i % 40},page,,viewed,"
                f"2026-03-02T10:{i % 60:02d}:00Z,30,,,big-{i}\n"
            )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": subprocess_database_url(),
        "LOG_LEVEL": "ERROR",
    }
    command = [
        sys.executable,
        "manage.py",
        "import_events",
        str(path),
        "--deployment",
        str(deployment.pk),
    ]
    return command, env


def test_an_import_killed_midway_stores_nothing_and_a_rerun_stores_everything_once(
    transactional_db, tmp_path
):
    n = 60_000
    command, env = big_import(tmp_path, n)
    worker = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while not ImportBatch.objects.filter(status="running").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # into the load pass
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert Activity.objects.count() in (0, n)  # all or nothing
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    assert Activity.objects.count() == n
    assert Activity.objects.values("source_id").distinct().count() == n


def test_a_killed_import_ends_failed_with_its_reason_and_a_rerun_imports_the_file(
    transactional_db, tmp_path, settings
):
    """Finding: the batch of a killed import stayed `running` forever, with no reason."""
    from completion.ingest.files.batches import sweep_stale_imports
    from completion.ingest.files.tasks import sweep_imports

    settings.FINISHLINE = {**settings.FINISHLINE, "IMPORT_STALE_SECONDS": 0}
    n = 60_000
    command, env = big_import(tmp_path, n)
    worker = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while not ImportBatch.objects.filter(status="running").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    if connection.vendor == "postgresql":
        # Alive: its session holds the batch's lock, so the sweep leaves it alone.
        assert sweep_stale_imports() == 0
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    if ImportBatch.objects.filter(status="done").exists():
        pytest.skip("the import finished before it was killed")
    deadline = time.monotonic() + 10  # the server notices the dead session
    while not sweep_imports() and time.monotonic() < deadline:
        time.sleep(0.1)
    dead = ImportBatch.objects.get()
    assert dead.status == "failed"
    assert "stopped before it finished" in dead.rejected[0]["reason"]
    assert dead.finished_at is not None
    assert not Activity.objects.exists()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    assert ImportBatch.objects.filter(status="done").count() == 1
    assert Activity.objects.count() == n


def test_the_sweep_runs_on_a_schedule():
    from config.schedules import SCHEDULES

    funcs = {s["func"] for s in SCHEDULES}
    assert "completion.ingest.files.tasks.sweep_imports" in funcs


def test_an_import_whose_database_connection_drops_stores_nothing_and_a_rerun_everything_once(
    transactional_db, tmp_path
):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server connection to drop")
    n = 200_000
    command, env = big_import(tmp_path, n)
    worker = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # The server ends the importer's session while it is loading (as a restart or a network
    # fault would): the import's own backend, found by the staging table it writes.
    dropped, deadline = 0, time.monotonic() + 60
    with connection.cursor() as cursor:
        while not dropped and worker.poll() is None and time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query LIKE '%finishline_import_stage%'"
            )
            dropped = cursor.fetchone()[0]
            time.sleep(0.02)
    out, err = worker.communicate(timeout=120)
    assert dropped == 1, (out, err)
    assert worker.returncode != 0
    assert "terminating connection" in err  # the reason reaches whoever ran it
    assert not Activity.objects.exists()  # all or nothing
    failed = ImportBatch.objects.get()
    assert failed.status == "failed"
    assert "terminating connection" in failed.rejected[0]["reason"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    assert Activity.objects.count() == n
    assert Activity.objects.values("source_id").distinct().count() == n
