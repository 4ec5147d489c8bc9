"""The activity tally (PostgreSQL triggers): per course and UTC day, its rows always sum to the
number of stored events, whatever wrote or removed them, and folding keeps the sums."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, timedelta

import psycopg
import pytest
from django.db import connection, transaction

from completion.events import tally
from completion.events.store import ACTIVITY_FIELDS
from completion.models import Activity, ActivityTally
from completion.risk import scoring
from completion.risk import snapshot as facts_snapshot
from completion.risk import tasks as risk_tasks
from lti_tool.db.bulk import insert_rows
from tests.completion.riskdata import START, add, day, enrol, make_course

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the tally is kept by PostgreSQL triggers; SQLite counts the events instead")


def counted() -> Counter:
    """Events per (course, UTC day), counted from the events themselves."""
    found = Counter()
    for course_id, at in Activity.objects.values_list("course_id", "occurred_at"):
        found[(course_id, at.astimezone(UTC).date())] += 1
    return found


def tallied() -> Counter:
    found = Counter()
    for course_id, on, events in ActivityTally.objects.values_list("course_id", "day", "events"):
        found[(course_id, on)] += events
    return +found  # days summing to nothing drop out, as they do from the count


def row(course, membership, at, source_id):
    """An event-store row in ACTIVITY_FIELDS order (by name, so new columns need no edit)."""
    values = {
        "course_id": course.pk,
        "person_id": membership.person_id,
        "verb": "viewed",
        "occurred_at": at,
        "received_at": at,
        "source": "api",
        "source_id": source_id,
    }
    return tuple(values.get(f) for f in ACTIVITY_FIELDS)


def test_every_way_of_writing_and_removing_events_keeps_the_tally_equal_to_the_count():
    course, items = make_course()
    other, _ = make_course()
    ann, bob = enrol(course, "ann"), enrol(other, "bob")
    add(course, ann, "viewed", day(0))
    add(course, ann, "viewed", day(0, 23))
    assert tallied() == counted() == Counter({(course.pk, day(0).date()): 2})

    # A multi-row statement, then the same rows again (ON CONFLICT skips them: no delta).
    rows = [row(course, ann, day(1, h), f"b{h}") for h in range(5)]
    rows += [row(other, bob, day(1, 23) + timedelta(hours=2), "late-utc")]  # day 2 in UTC
    assert insert_rows(Activity, ACTIVITY_FIELDS, rows) == 6
    assert insert_rows(Activity, ACTIVITY_FIELDS, rows) == 0
    assert tallied() == counted()
    assert tallied()[(other.pk, day(2).date())] == 1

    # Updates that move events between days or courses, and one that moves nothing.
    Activity.objects.filter(course=course, occurred_at=day(1, 0)).update(occurred_at=day(3))
    Activity.objects.filter(course=course, occurred_at=day(1, 1)).update(course=other)
    before = ActivityTally.objects.count()
    items[0].delete()  # SET NULL on the events' item: not a move
    Activity.objects.filter(course=course).update(verb="launched")
    assert ActivityTally.objects.count() == before
    assert tallied() == counted()

    # Deletions: one event, a day's, a learner's (Django cascades from the person).
    Activity.objects.filter(course=course, occurred_at=day(3)).delete()
    Activity.objects.filter(course=course, occurred_at__date=day(1).date()).delete()
    bob.person.delete()
    assert tallied() == counted()


def test_a_random_run_of_writes_keeps_the_tally_equal_to_the_count():
    course, _ = make_course()
    other, _ = make_course()
    people = [enrol(course, f"p{k}") for k in range(3)] + [enrol(other, "q")]
    rnd = random.Random(7)
    made = 0
    for _ in range(60):
        op = rnd.choice(["add", "add", "bulk", "move", "delete", "fold"])
        if op == "add":
            m = rnd.choice(people)
            add(m.course, m, "viewed", day(rnd.randrange(5), rnd.randrange(24)))
        elif op == "bulk":
            m = rnd.choice(people)
            made += 1
            rows = [
                row(m.course, m, day(rnd.randrange(5), rnd.randrange(24)), f"r{made}-{k}")
                for k in range(rnd.randrange(1, 6))
            ]
            insert_rows(Activity, ACTIVITY_FIELDS, rows)
        elif op == "move":
            ids = list(Activity.objects.values_list("pk", flat=True)[:3])
            Activity.objects.filter(pk__in=ids).update(
                occurred_at=day(rnd.randrange(5), rnd.randrange(24))
            )
        elif op == "delete":
            ids = list(Activity.objects.order_by("?").values_list("pk", flat=True)[:2])
            Activity.objects.filter(pk__in=ids).delete()
        else:
            tally.fold(rnd.choice([course, other]).pk)
        assert tallied() == counted(), op


def test_folding_leaves_one_row_per_day_with_the_same_sums():
    course, _ = make_course()
    other, _ = make_course()
    ann, bob = enrol(course, "ann"), enrol(other, "bob")
    for h in range(4):
        add(course, ann, "viewed", day(0, h))
        add(other, bob, "viewed", day(0, h))
    gone = add(course, ann, "viewed", day(1))
    gone.delete()  # a day whose deltas sum to nothing
    tally.fold(course.pk)
    rows = list(ActivityTally.objects.filter(course_id=course.pk).values_list("day", "events"))
    assert rows == [(day(0).date(), 4)]
    assert ActivityTally.objects.filter(course_id=other.pk).count() == 4  # not this course's
    assert tallied() == counted()


def test_truncating_the_events_empties_the_tally_and_a_deleted_course_takes_its_rows():
    course, _ = make_course()
    other, _ = make_course()
    add(course, enrol(course, "ann"), "viewed", day(0))
    add(other, enrol(other, "bob"), "viewed", day(0))
    course.delete()
    assert set(ActivityTally.objects.values_list("course_id", flat=True)) == {other.pk}
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE completion_activity")
    assert not ActivityTally.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_folding_keeps_a_delta_another_transaction_has_not_committed_yet():
    course, _ = make_course()
    ann = enrol(course, "ann")
    add(course, ann, "viewed", day(0))
    add(course, ann, "viewed", day(0, 11))
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
        dbname=settings["NAME"], password=settings["PASSWORD"] or None,
    ) as other:  # fmt: skip
        other.execute(
            "INSERT INTO completion_activity (course_id, person_id, verb, occurred_at, "
            "received_at, source, source_id) VALUES (%s, %s, 'viewed', %s, %s, 'api', 'slow')",
            [course.pk, ann.person_id, day(0, 12), day(0, 12)],
        )
        tally.fold(course.pk)  # does not see, so does not delete, its delta
        other.commit()
    assert tallied() == counted() == Counter({(course.pk, day(0).date()): 3})


def test_a_snapshot_is_checked_against_the_tally_on_postgresql():
    course, _ = make_course()
    ann = enrol(course, "ann")
    for n in range(3):
        add(course, ann, "viewed", day(n))
    scoring.score_course(course.pk, as_of=day(1).date())
    assert facts_snapshot.load(course, day(2).date(), scoring.load_rows).source == "snapshot"
    # A delta that no event stands for: the snapshot's check now disagrees, so it is not used.
    ActivityTally.objects.create(course_id=course.pk, day=START.date(), events=1)
    assert facts_snapshot.load(course, day(2).date(), scoring.load_rows).source == "events"


def bypass_triggers(*events):
    """Store events as a bulk loader does, with the triggers (the tally's too) switched off."""
    with transaction.atomic(), connection.cursor() as cursor:  # SET LOCAL needs one
        cursor.execute("SET LOCAL session_replication_role = replica")
        for course, membership, at in events:
            add(course, membership, "viewed", at)
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def test_a_tally_left_short_is_put_right_by_a_recount_and_only_once():
    course, _ = make_course()
    other, _ = make_course()
    ann, bob = enrol(course, "ann"), enrol(other, "bob")
    add(course, ann, "viewed", day(0))
    add(other, bob, "viewed", day(0))
    bypass_triggers((course, ann, day(1)), (other, bob, day(1)), (other, bob, day(2)))
    assert tally.events_up_to(course.pk, day(1).date()) == 1  # short: no snapshot is trusted
    assert scoring.recount_tally([course.pk]) == 1
    assert tally.events_up_to(course.pk, day(1).date()) == 2
    assert tally.events_up_to(other.pk, day(2).date()) == 1
    assert scoring.recount_tally() == 2  # the other course's two days
    assert scoring.recount_tally() == 0
    assert tallied() == counted()


def test_a_full_read_of_the_events_mends_the_tally_and_the_next_day_uses_the_snapshot():
    course, _ = make_course()
    ann = enrol(course, "ann")
    add(course, ann, "viewed", day(0))
    bypass_triggers((course, ann, day(1)))
    ActivityTally.objects.create(course_id=course.pk, day=day(3).date(), events=4)  # too many
    scoring.score_course(course.pk, as_of=day(1).date())  # no snapshot yet: reads every event
    assert tallied() == counted()
    assert facts_snapshot.load(course, day(2).date(), scoring.load_rows).source == "snapshot"


@pytest.mark.django_db(transaction=True)
def test_a_correction_while_another_transaction_folds_counts_nothing_twice():
    course, _ = make_course()
    ann = enrol(course, "ann")
    for h in range(3):
        add(course, ann, "viewed", day(0, h))
    bypass_triggers((course, ann, day(0, 5)))  # one short
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
        dbname=settings["NAME"], password=settings["PASSWORD"] or None,
    ) as other:  # fmt: skip
        other.execute(tally.FOLD_SQL.format(where=""))  # uncommitted: three rows into one
        assert tally.reconcile(course.pk) == 1  # sees the three rows, sums them alike
        other.commit()
    assert tallied() == counted() == Counter({(course.pk, day(0).date()): 4})


def test_the_day_is_the_utc_day_whatever_the_sessions_time_zone():
    course, _ = make_course()
    ann = enrol(course, "ann")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'Pacific/Auckland'")  # 23:30 UTC is tomorrow there
        add(course, ann, "viewed", day(1, 23).replace(minute=30))
        insert_rows(Activity, ACTIVITY_FIELDS, [row(course, ann, day(2, 23), "b1")])
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
    assert tallied() == counted()
    assert tally.events_up_to(course.pk, day(1).date()) == 1


def test_the_nightly_pass_folds_every_course_with_or_without_learners():
    course, _ = make_course()
    empty, _ = make_course()
    ann = enrol(course, "ann")
    for h in range(3):
        add(course, ann, "viewed", day(0, h))
        add(empty, enrol(empty, f"staff{h}", role="instructor"), "viewed", day(0, h))
    risk_tasks.nightly_pass(day(1).date().isoformat())
    rows = sorted(ActivityTally.objects.values_list("course_id", "events"))
    assert rows == [(course.pk, 3), (empty.pk, 3)]


def test_every_scoring_of_a_course_folds_its_tally_full_or_incremental():
    course, _ = make_course()
    ann, bob = enrol(course, "ann"), enrol(course, "bob")
    for h in range(3):
        add(course, ann, "viewed", day(0, h))
    scoring.score_course(course.pk, as_of=day(0).date())
    assert ActivityTally.objects.filter(course_id=course.pk).count() == 1
    add(course, bob, "viewed", day(0, 5))
    add(course, bob, "viewed", day(0, 6))
    scoring.score_course(course.pk, as_of=day(0).date(), membership_ids=[bob.pk])
    assert list(ActivityTally.objects.filter(course_id=course.pk).values_list("events")) == [(5,)]


def test_a_full_read_compares_with_the_tally_and_counts_again_only_when_it_is_off(monkeypatch):
    course, _ = make_course()
    ann = enrol(course, "ann")
    add(course, ann, "viewed", day(0))
    counted_again = []
    monkeypatch.setattr(tally, "reconcile", counted_again.append)
    loaded = facts_snapshot.load(course, day(1).date(), scoring.load_rows)
    assert (loaded.source, loaded.tally_off) == ("events", False)
    scoring.score_course(course.pk, as_of=day(1).date())
    assert counted_again == []
    bypass_triggers((course, ann, day(1)))
    loaded = facts_snapshot.load(course, day(1).date(), scoring.load_rows)
    assert (loaded.source, loaded.tally_off) == ("events", True)
    scoring.score_course(course.pk, as_of=day(1).date())
    assert counted_again == [course.pk]
