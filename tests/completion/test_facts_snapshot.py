"""Facts kept between days: FactRows round trips and merges, and a course's snapshot gives the
facts (and scores) a read of every event gives, or is set aside when its events changed.

Durations are whole seconds, so sums are exact in any order and facts compare with ==.
"""

from __future__ import annotations

import gc
import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection
from django.db.models import Max
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from completion.data import cutoff_of
from completion.models import (
    Activity,
    FactsSnapshot,
    Item,
    Progress,
    RiskScore,
    ScoringRun,
)
from completion.risk import fact_rows, scoring
from completion.risk import snapshot as facts_snapshot
from completion.risk.fact_rows import DAY_COLUMNS, ITEM_COLUMNS, FactRows
from completion.risk.facts import EventRow, facts_from_events
from completion.risk.scoring import score_course
from completion.risk.signals import codes_in
from tests.completion.riskdata import START, add, day, enrol, make_course, rows_of

pytestmark = pytest.mark.django_db

NAN = float("nan")
D0 = START.date().toordinal()
T0 = START.timestamp()
DAY1, DAY2, DAY3 = (day(n).date() for n in (1, 2, 3))


def assert_same_rows(got, expected):
    for part in ("days", "items"):
        a, b = getattr(got, part), getattr(expected, part)
        assert a.keys() == b.keys()
        for name in a:
            assert a[name].dtype == b[name].dtype, (part, name)
            np.testing.assert_array_equal(a[name], b[name], err_msg=f"{part}.{name}")


# --- FactRows ----------------------------------------------------------------------------------


def test_rows_survive_bytes_with_their_values_nulls_and_types():
    big = 2**40  # needs int64
    rows = FactRows.from_rows(
        [
            (7, D0, 3, 90.0, 1, 0, 3),
            (7, D0 + 1, 40_000, 0.0, 0, 2, 90_000),  # 40,000 events: int32
            (big, D0, 1, 12.5, 0, 0, 1),
        ],
        [
            (7, 3, T0 + 0.25, None, 1, 0, 0, 0, 0, None, 30.0),  # never done, no score
            (7, 70_000, T0, T0 + 3600, 1, 1, 2, 1, 1, 0.75, 0.0),
            (big, 3, T0 + 60, T0 + 60, 1, 0, 0, 1, 0, 1.0, 12.5),
        ],
    )
    data = rows.to_bytes()
    back = FactRows.from_bytes(data)
    assert_same_rows(back, rows)
    assert back.days["person"].tolist() == [7, 7, big]
    assert back.days["events"].tolist() == [3, 40_000, 1]
    assert back.items["item"].tolist() == [3, 70_000, 3]
    assert np.isnan(back.items["done_at"][0])
    assert np.isnan(back.items["best"][0])
    assert back.items["first_at"][0] == T0 + 0.25
    assert {name: back.days[name].dtype for name, _ in DAY_COLUMNS} == dict(DAY_COLUMNS)
    assert {name: back.items[name].dtype for name, _ in ITEM_COLUMNS} == dict(ITEM_COLUMNS)
    # Stored narrowed where the values fit.
    with np.load(io.BytesIO(data)) as stored:
        narrow = {k: stored[k].dtype for k in ("d_person", "d_day", "d_events", "d_posts")}
        narrow |= {k: stored[k].dtype for k in ("i_item", "i_passed", "i_first_at")}
    assert narrow == {
        "d_person": np.int64,
        "d_day": np.int32,
        "d_events": np.int32,
        "d_posts": np.int16,
        "i_item": np.int32,
        "i_passed": np.int16,
        "i_first_at": np.float64,
    }


def test_empty_rows_survive_bytes():
    back = FactRows.from_bytes(FactRows.from_rows([], []).to_bytes())
    assert_same_rows(back, FactRows.from_rows([], []))
    assert back.events == 0
    assert back.item_ids == frozenset()


def test_merging_two_slices_reaggregates_the_keys_they_share():
    a = FactRows.from_rows(
        [(1, D0, 2, 30.0, 1, 0, 2), (2, D0, 1, 0.0, 0, 1, 1)],
        [
            # person, item, first_at, done_at, consumed, submitted, attempted, passed, failed,
            # best, seconds
            (1, 10, T0 + 100, None, 1, 0, 1, 0, 0, 0.3, 10.0),
            (1, 11, T0 + 10, T0 + 300, 1, 0, 0, 0, 0, 0.5, 0.0),
            (2, 10, T0, None, 0, 0, 0, 0, 1, None, 0.0),
        ],
    )
    b = FactRows.from_rows(
        [(1, D0 + 1, 1, 5.0, 0, 0, 1), (1, D0, 3, 15.0, 0, 2, 3)],
        [
            (1, 10, T0 + 50, T0 + 200, 0, 1, 0, 1, 0, None, 5.0),
            (1, 11, T0 + 20, T0 + 250, 0, 0, 0, 1, 0, 0.8, 1.0),
        ],
    )
    merged = a.merged(b)
    assert [list(r) for r in zip(*merged.days.values(), strict=True)] == [
        [1, D0, 5, 45.0, 1, 2, 5],
        [1, D0 + 1, 1, 5.0, 0, 0, 1],
        [2, D0, 1, 0.0, 0, 1, 1],
    ]
    assert [list(r) for r in zip(*merged.items.values(), strict=True)][:2] == [
        [1, 10, T0 + 50, T0 + 200, 1, 1, 1, 1, 0, 0.3, 15.0],
        [1, 11, T0 + 10, T0 + 250, 1, 0, 0, 1, 0, 0.8, 1.0],
    ]
    assert merged.events == 7
    assert merged.item_ids == {10, 11}
    # What one read of all the events would have returned.
    assert_same_rows(
        merged,
        FactRows.from_rows(
            [(2, D0, 1, 0.0, 0, 1, 1), (1, D0 + 1, 1, 5.0, 0, 0, 1), (1, D0, 5, 45.0, 1, 2, 5)],
            [
                (2, 10, T0, None, 0, 0, 0, 0, 1, None, 0.0),
                (1, 11, T0 + 10, T0 + 250, 1, 0, 0, 1, 0, 0.8, 1.0),
                (1, 10, T0 + 50, T0 + 200, 1, 1, 1, 1, 0, 0.3, 15.0),
            ],
        ),
    )
    # Attempts come from the merged raw counts: "attempted" then "passed" is one attempt,
    # although each slice alone counts one.
    (one,) = merged.facts([scoring.Enrolment(5, 1, START)])
    assert (one.items[10].attempts, one.items[10].failures) == (1, 0)
    assert one.items[10].done_at == T0 + 200
    assert one.days[0].events == 5


def test_merging_with_no_rows_changes_nothing():
    rows = FactRows.from_rows(
        [(1, D0, 2, 3.0, 0, 0, 2)], [(1, 4, T0, None, 1, 0, 0, 0, 0, None, 3.0)]
    )
    empty = FactRows.from_rows([], [])
    assert_same_rows(rows.merged(empty), rows)
    assert_same_rows(empty.merged(rows), rows)


def _item_rows(keys, data):
    """Item rows for `keys` (person, item), random values with NULLs, one row per key."""
    maybe = st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False))
    counts = st.integers(0, 5)
    return [
        (person, item, data.draw(st.floats(0, 1e6)), data.draw(maybe), *data.draw(
            st.tuples(counts, counts, counts, counts, counts)), data.draw(maybe),
         float(data.draw(st.integers(0, 10_000))))
        for person, item in keys
    ]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sets(st.tuples(st.integers(1, 30), st.integers(1, 12)), max_size=60),
    st.sets(st.tuples(st.integers(1, 30), st.integers(1, 12)), max_size=30),
    st.data(),
)
def test_inserting_a_slice_merges_as_sorting_both_together_does(keys_a, keys_b, data):
    """`_merge` inserts the new keys into the held rows; `_merge_by_sorting`, the reference
    (and the path for ids past 2**31), sorts the two slices together and re-aggregates."""
    a = FactRows.from_rows(
        [(p, D0 + d, n, float(n * 7), 0, 1, 3 * n) for n, (p, d) in enumerate(sorted(keys_a))],
        _item_rows(keys_a, data),
    )
    b = FactRows.from_rows(
        [(p, D0 + d, n + 1, float(n), 1, 0, n + 2) for n, (p, d) in enumerate(sorted(keys_b))],
        _item_rows(keys_b, data),
    )
    for spec, part, special in (
        (DAY_COLUMNS, "days", {}),
        (ITEM_COLUMNS, "items", fact_rows.ITEM_MERGE),
    ):
        got = fact_rows._merge(spec, getattr(a, part), getattr(b, part), special)
        expected = fact_rows._merge_by_sorting(spec, getattr(a, part), getattr(b, part), special)
        assert got.keys() == expected.keys()
        for name in got:
            assert got[name].dtype == expected[name].dtype
            np.testing.assert_array_equal(got[name], expected[name], err_msg=f"{part}.{name}")


def test_rows_with_a_key_twice_merge_by_sorting():
    # Aggregates hold one row a key; rows built otherwise take the general way.
    a = FactRows.from_rows([(1, D0, 2, 3.0, 0, 0, 2)], [])
    b = FactRows.from_rows(
        [(1, D0, 5, 1.0, 0, 0, 5), (1, D0, 7, 1.0, 0, 0, 7), (2, D0, 1, 0.0, 0, 0, 1)], []
    )
    merged = a.merged(b)
    assert [list(r) for r in zip(*merged.days.values(), strict=True)] == [
        [1, D0, 14, 5.0, 0, 0, 14],
        [2, D0, 1, 0.0, 0, 0, 1],
    ]


def test_ids_past_two_to_the_31_merge_by_sorting():
    big = 2**40
    a = FactRows.from_rows([(big, D0, 2, 3.0, 0, 0, 2), (big + 2, D0, 1, 1.0, 0, 0, 1)], [])
    b = FactRows.from_rows([(big + 1, D0, 1, 1.0, 0, 0, 1), (big, D0, 1, 2.0, 1, 0, 1)], [])
    assert fact_rows._packed(a.days["person"], a.days["day"]) is None
    merged = a.merged(b)
    assert [list(r) for r in zip(*merged.days.values(), strict=True)] == [
        [big, D0, 3, 5.0, 1, 0, 3],
        [big + 1, D0, 1, 1.0, 0, 0, 1],
        [big + 2, D0, 1, 1.0, 0, 0, 1],
    ]


# --- the loaders' slices merge to the whole (hypothesis) ---------------------------------------

VERBS = ("viewed", "completed", "attempted", "passed", "failed", "submitted", "posted", "errored")
events_st = st.lists(
    st.builds(
        EventRow,
        person_id=st.integers(0, 2),
        item_id=st.one_of(st.none(), st.integers(0, 3)),
        verb=st.sampled_from(VERBS),
        occurred_at=st.integers(0, 5 * 24 * 60).map(lambda m: START + timedelta(minutes=m)),
        duration_seconds=st.one_of(st.none(), st.integers(0, 900).map(float)),
        score=st.one_of(st.none(), st.floats(0, 1)),
        success=st.one_of(st.none(), st.booleans()),
        times=st.one_of(st.none(), st.integers(1, 50)),
    ),
    max_size=30,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=events_st, split=st.integers(0, 30), held_day=st.integers(0, 3), more=st.integers(0, 2)
)
def test_rows_held_for_a_day_merged_with_the_events_read_since_equal_a_full_read(
    events, split, held_day, more
):
    course, items = make_course()
    members = [enrol(course, f"p{n}") for n in range(3)]
    stored = [
        e._replace(
            person_id=members[e.person_id].person_id,
            item_id=None if e.item_id is None else items[e.item_id].pk,
        )
        for e in events
    ]

    def insert(part, offset):
        Activity.objects.bulk_create(
            Activity(course=course, person_id=e.person_id, item_id=e.item_id, verb=e.verb,
                     occurred_at=e.occurred_at, received_at=e.occurred_at,
                     duration_seconds=e.duration_seconds, score=e.score, success=e.success,
                     count=e.times, source="api", source_id=str(offset + n))
            for n, e in enumerate(part)
        )  # fmt: skip

    held_on = START.date() + timedelta(days=held_day)
    as_of = held_on + timedelta(days=more)
    insert(stored[:split], 0)
    held = scoring.load_rows(course.pk, cutoff_of(held_on))
    watermark = Activity.objects.aggregate(m=Max("id"))["m"] or 0
    insert(stored[split:], split)  # newer ids, some dated before the held day's end
    after = (watermark, cutoff_of(held_on))
    since = scoring.load_rows(course.pk, cutoff_of(as_of), after)
    assert_same_rows(since, scoring.load_rows_orm(course.pk, cutoff_of(as_of), after=after))
    merged = held.merged(since)
    assert_same_rows(merged, scoring.load_rows(course.pk, cutoff_of(as_of)))
    assert merged.events == sum(e.occurred_at < cutoff_of(as_of) for e in events)
    people = scoring.enrolments(course, as_of)
    assert merged.facts(people) == [reference(p, stored, as_of) for p in people]


# --- a course's snapshot -----------------------------------------------------------------------


def reference(p, events, as_of):
    return facts_from_events(
        membership_id=p.membership_id,
        person_id=p.person_id,
        enrolled_at=p.enrolled_at,
        events=events,
        as_of=as_of,
    )


def assert_facts_are_right(course, as_of, loaded):
    """`loaded`'s facts are what a fresh read and the reference builder give."""
    people = scoring.enrolments(course, as_of)
    got = loaded.rows.facts(people)
    assert got == scoring.load_facts(course, as_of, people)
    assert got == [reference(p, rows_of(course), as_of) for p in people]
    return {f.membership_id: f for f in got}


def newest_id():
    return Activity.objects.aggregate(m=Max("id"))["m"]


def history():
    """Two learners busy on days 0 and 1, a third who joined on day 1, and one event already
    stored for day 3 (an old id after the day-1 cutoff)."""
    course, (intro, reading, lecture, quiz, forum) = make_course()
    keen, slow, new = enrol(course, "keen"), enrol(course, "slow"), enrol(course, "new", at=day(1))
    add(course, keen, "viewed", day(0), item=intro, seconds=600)
    add(course, keen, "completed", day(0, 11), item=intro, seconds=60)
    add(course, keen, "attempted", day(1), item=quiz)
    add(course, keen, "posted", day(1, 12), item=forum)
    add(course, slow, "errored", day(0))
    add(course, slow, "viewed", day(1, 23), item=reading, seconds=120)
    add(course, slow, "failed", day(1), item=quiz, score=0.3)
    add(course, slow, "viewed", day(3), item=lecture, seconds=30)
    items = {"intro": intro, "reading": reading, "lecture": lecture, "quiz": quiz, "forum": forum}
    return course, items, {"keen": keen, "slow": slow, "new": new}


def add_later_events(course, items, people):
    """Stored after the day-1 snapshot: day 2, late ones dated days 0 and 1, and day 3."""
    keen, slow, new = people["keen"], people["slow"], people["new"]
    add(course, keen, "passed", day(2), item=items["quiz"], score=0.8)
    add(course, keen, "viewed", day(2, 15), item=items["reading"], seconds=300)
    add(course, slow, "posted", cutoff_of(DAY1), item=items["forum"])  # day 2's first instant
    # Late: newer ids, but dated before the snapshot's cutoff.
    add(course, keen, "viewed", day(0, 9), item=items["intro"], seconds=45)  # before its first
    add(course, keen, "completed", day(0, 9) + timedelta(minutes=30), item=items["intro"])
    add(course, slow, "failed", day(1, 13), item=items["quiz"], score=0.4)
    add(course, new, "logged_in", cutoff_of(DAY1) - timedelta(seconds=1))
    add(course, keen, "viewed", day(3), item=items["lecture"], seconds=15)


def test_a_scored_day_keeps_its_facts_and_a_later_day_adds_the_events_stored_since():
    course, items, people = history()
    score_course(course.pk, as_of=DAY1)
    snap = FactsSnapshot.objects.get(course=course)
    assert (snap.as_of, snap.events, snap.last_activity_id) == (DAY1, 7, newest_id())
    add_later_events(course, items, people)

    loaded = facts_snapshot.load(course, DAY2, scoring.load_rows)
    assert loaded.source == "snapshot"
    assert loaded.watermark == newest_id()
    assert loaded.rows.events == 14  # 7 held, 4 late, 3 on day 2
    facts = assert_facts_are_right(course, DAY2, loaded)
    keen, slow = facts[people["keen"].pk], facts[people["slow"].pk]
    intro, quiz = keen.items[items["intro"].pk], keen.items[items["quiz"].pk]
    assert (intro.first_at, intro.done_at) == (
        day(0, 9).timestamp(),
        (day(0, 9) + timedelta(minutes=30)).timestamp(),
    )
    assert intro.seconds == 705.0
    assert (quiz.attempts, quiz.best_score, quiz.done_at) == (1, 0.8, day(2).timestamp())
    slow_quiz = slow.items[items["quiz"].pk]
    assert (slow_quiz.attempts, slow_quiz.failures, slow_quiz.best_score) == (2, 2, 0.4)
    assert [d.events for d in slow.days] == [1, 3, 1]
    assert items["lecture"].pk not in keen.items | slow.items  # day 3: not yet

    day3 = facts_snapshot.load(course, DAY3, scoring.load_rows)
    assert day3.source == "snapshot"
    facts = assert_facts_are_right(course, DAY3, day3)
    assert facts[people["slow"].pk].items[items["lecture"].pk].seconds == 30.0  # an old id
    assert facts[people["keen"].pk].items[items["lecture"].pk].seconds == 15.0


def test_a_snapshot_read_again_for_its_own_day_picks_up_late_events():
    course, items, people = history()
    score_course(course.pk, as_of=DAY1)
    add(course, people["slow"], "failed", day(1, 13), item=items["quiz"], score=0.4)
    loaded = facts_snapshot.load(course, DAY1, scoring.load_rows)
    assert (loaded.source, loaded.rows.events) == ("snapshot", 8)
    assert_facts_are_right(course, DAY1, loaded)


def stale_after(change):
    """A day-1 snapshot, later events, then `change`; the day-2 load."""
    course, items, people = history()
    score_course(course.pk, as_of=DAY1)
    add_later_events(course, items, people)
    change(course, items, people)
    return course, facts_snapshot.load(course, DAY2, scoring.load_rows)


def test_a_deleted_event_sets_the_snapshot_aside_and_the_next_pass_replaces_it():
    def void_one(course, items, people):
        Activity.objects.get(course=course, occurred_at=day(0), verb="errored").delete()

    course, loaded = stale_after(void_one)
    assert (loaded.source, loaded.save) == ("events", True)
    assert loaded.rows.events == 13
    assert_facts_are_right(course, DAY2, loaded)
    score_course(course.pk, as_of=DAY2)
    snap = FactsSnapshot.objects.get(course=course)
    assert (snap.as_of, snap.events, snap.last_activity_id) == (DAY2, 13, newest_id())
    assert_same_rows(
        FactRows.from_bytes(bytes(snap.data)), scoring.load_rows(course.pk, cutoff_of(DAY2))
    )
    assert facts_snapshot.load(course, DAY2, scoring.load_rows).source == "snapshot"


@pytest.mark.parametrize(
    ("when", "source"), [(day(1, 14), "events"), (day(2, 14), "snapshot")], ids=["day 1", "day 2"]
)
def test_an_event_committed_late_with_an_old_id_is_never_missed(when, source):
    course, items, people = history()
    other, _ = make_course()
    freed = add(other, enrol(other, "x"), "viewed", day(0))  # an id a long transaction held
    add(course, people["keen"], "viewed", day(1, 8))
    Activity.objects.filter(pk=freed.pk).delete()
    score_course(course.pk, as_of=DAY1)
    assert FactsSnapshot.objects.get(course=course).last_activity_id > freed.pk

    Activity.objects.create(
        id=freed.pk, course=course, person_id=people["slow"].person_id, item=items["intro"],
        verb="completed", occurred_at=when, received_at=when, duration_seconds=200.0,
        source="api", source_id="late-commit",
    )  # fmt: skip
    loaded = facts_snapshot.load(course, DAY2, scoring.load_rows)
    # Before the snapshot's cutoff it cannot be read by id or by time: the count tells.
    assert loaded.source == source
    facts = assert_facts_are_right(course, DAY2, loaded)
    assert facts[people["slow"].pk].items[items["intro"].pk].done_at == when.timestamp()


@pytest.mark.parametrize(
    ("item", "source"), [("quiz", "events"), ("lecture", "snapshot")], ids=["held", "not held"]
)
def test_a_deleted_item_sets_aside_a_snapshot_holding_its_events(item, source):
    deleted = []

    def delete_item(course, items, people):
        deleted.append(items[item].pk)
        items[item].delete()  # its events keep their learner and lose the item

    course, loaded = stale_after(delete_item)
    assert loaded.source == source
    facts = assert_facts_are_right(course, DAY2, loaded)
    left = set(Item.objects.filter(course=course).values_list("pk", flat=True))
    assert deleted[0] not in left
    assert all(f.items.keys() <= left for f in facts.values())
    assert_facts_are_right(course, DAY3, facts_snapshot.load(course, DAY3, scoring.load_rows))


def test_an_earlier_day_is_read_from_the_events_and_keeps_the_later_snapshot():
    course, items, people = history()
    add_later_events(course, items, people)
    score_course(course.pk, as_of=DAY2)
    kept = FactsSnapshot.objects.values().get(course=course)
    assert kept["as_of"] == DAY2

    loaded = facts_snapshot.load(course, DAY1, scoring.load_rows)
    assert (loaded.source, loaded.save) == ("events", True)
    assert loaded.rows.events == 11  # the 7 first events and the 4 dated days 0 and 1
    assert_facts_are_right(course, DAY1, loaded)
    facts_snapshot.store(course, DAY1, loaded, datetime.now(UTC))
    score_course(course.pk, as_of=DAY1)
    assert FactsSnapshot.objects.values().get(course=course) == kept


# --- when a snapshot is stored again ----------------------------------------------------------


def padded_day1():
    """A day-1 snapshot of exactly 40 events."""
    course, items, people = history()
    for n in range(33):
        add(course, people["keen"], "viewed", day(0) + timedelta(minutes=n + 1), seconds=10)
    score_course(course.pk, as_of=DAY1)
    snap = FactsSnapshot.objects.get(course=course)
    assert (snap.as_of, snap.events) == (DAY1, 40)
    return course, items, people, snap


def test_a_small_delta_is_read_on_top_and_leaves_the_snapshot_as_it_was():
    course, items, people, snap = padded_day1()
    add(course, people["slow"], "viewed", day(2), item=items["reading"], seconds=100)
    add(course, people["slow"], "viewed", day(1, 22), item=items["reading"], seconds=20)  # late
    loaded = facts_snapshot.load(course, DAY2, scoring.load_rows)
    assert (loaded.source, loaded.save, loaded.rows.events) == ("snapshot", False, 42)  # 5%
    score_course(course.pk, as_of=DAY2)
    after = FactsSnapshot.objects.get(course=course)
    assert (after.as_of, after.events, after.last_activity_id, after.saved_at) == (
        DAY1, 40, snap.last_activity_id, snap.saved_at,
    )  # fmt: skip
    # The day's scores still count what was read on top.
    slow = Progress.objects.get(membership=people["slow"], as_of=DAY2)
    assert slow.time_on_task_seconds == 240.0


def test_a_delta_over_five_percent_stores_the_snapshot_for_the_new_day():
    course, items, people, _ = padded_day1()
    add(course, people["slow"], "viewed", day(2), item=items["reading"], seconds=100)
    add(course, people["slow"], "viewed", day(1, 22), item=items["reading"], seconds=20)
    add(course, people["new"], "viewed", day(2, 11), item=items["intro"], seconds=5)
    loaded = facts_snapshot.load(course, DAY2, scoring.load_rows)
    assert (loaded.source, loaded.save, loaded.rows.events) == ("snapshot", True, 43)
    score_course(course.pk, as_of=DAY2)
    snap = FactsSnapshot.objects.get(course=course)
    assert (snap.as_of, snap.events, snap.last_activity_id) == (DAY2, 43, newest_id())
    assert_same_rows(
        FactRows.from_bytes(bytes(snap.data)), scoring.load_rows(course.pk, cutoff_of(DAY2))
    )
    assert_facts_are_right(course, DAY3, facts_snapshot.load(course, DAY3, scoring.load_rows))


# --- scores with and without the snapshot ------------------------------------------------------


def stored_scores(course, as_of):
    def rows(model, *order):
        found = model.objects.filter(course=course, as_of=as_of).order_by(*order).values()
        return [{k: v for k, v in r.items() if k not in ("id", "computed_at")} for r in found]

    run = ScoringRun.objects.get(course=course, as_of=as_of)
    risk = rows(RiskScore, "membership_id")
    return {
        "progress": rows(Progress, "membership_id"),
        "risk": risk,
        "signals": [  # the fired ones
            {"membership_id": r["membership_id"], "code": code}
            for r in risk
            for code in codes_in(r["fired_signals"])
        ],
        "run": (run.cohort_stats, run.learners),
    }


def forget_day(course, as_of):
    for model in (Progress, RiskScore):
        model.objects.filter(course=course, as_of=as_of).delete()


def test_scores_from_the_snapshot_equal_scores_from_every_event():
    course, items, people = history()
    score_course(course.pk, as_of=DAY1)
    add_later_events(course, items, people)
    assert facts_snapshot.load(course, DAY2, scoring.load_rows).source == "snapshot"
    score_course(course.pk, as_of=DAY2)
    with_snapshot = stored_scores(course, DAY2)
    assert len(with_snapshot["progress"]) == 3
    assert any(s["code"] == "failed_twice" for s in with_snapshot["signals"])

    FactsSnapshot.objects.filter(course=course).delete()
    forget_day(course, DAY2)
    assert facts_snapshot.load(course, DAY2, scoring.load_rows).source == "events"
    score_course(course.pk, as_of=DAY2)
    assert stored_scores(course, DAY2) == with_snapshot


def test_rescoring_a_day_upserts_exactly_the_rows_its_first_write_stored():
    course, items, people = history()
    add_later_events(course, items, people)
    score_course(course.pk, as_of=DAY2)  # the day's first write: plain inserts
    first = stored_scores(course, DAY2)
    assert first["signals"]
    score_course(course.pk, as_of=DAY2)  # upserts
    assert stored_scores(course, DAY2) == first
    score_course(course.pk, as_of=DAY2)
    assert stored_scores(course, DAY2) == first
    assert (Progress.objects.count(), RiskScore.objects.count(), ScoringRun.objects.count()) == (
        3,
        3,
        1,
    )


def test_rescoring_after_new_events_stores_what_a_first_write_would():
    course, items, people = history()
    add_later_events(course, items, people)
    score_course(course.pk, as_of=DAY2)
    before = stored_scores(course, DAY2)
    slow = people["slow"]
    add(course, slow, "passed", day(2, 16), item=items["quiz"], score=0.9)
    add(course, slow, "completed", day(2, 17), item=items["reading"], seconds=900)
    score_course(course.pk, as_of=DAY2)  # upserts, and drops the signals no longer fired
    upserted = stored_scores(course, DAY2)
    assert upserted != before
    assert not any(
        s["code"] == "failed_twice" and s["membership_id"] == slow.pk for s in upserted["signals"]
    )
    forget_day(course, DAY2)
    score_course(course.pk, as_of=DAY2)  # the first write again
    assert stored_scores(course, DAY2) == upserted


# --- failing soft, isolation, deleted memberships ----------------------------------------------


@pytest.mark.parametrize("data", [b"not a zip", b""])
def test_an_unreadable_snapshot_is_read_again_from_the_events(data):
    course, _, _ = history()
    score_course(course.pk, as_of=DAY1)
    FactsSnapshot.objects.filter(course=course).update(data=data)
    loaded = facts_snapshot.load(course, DAY2, scoring.load_rows)
    assert (loaded.source, loaded.save) == ("events", True)
    assert_facts_are_right(course, DAY2, loaded)


def test_a_snapshot_deleted_between_finding_and_reading_it_is_read_from_the_events(
    monkeypatch,
):
    course, _, _ = history()
    score_course(course.pk, as_of=DAY1)
    read_data = facts_snapshot._read_data

    def deleted_first(snapshot_id):
        FactsSnapshot.objects.filter(pk=snapshot_id).delete()  # say, retention's purger
        return read_data(snapshot_id)

    monkeypatch.setattr(facts_snapshot, "_read_data", deleted_first)
    loaded = facts_snapshot.load(course, DAY2, scoring.load_rows)
    assert (loaded.source, loaded.save) == ("events", True)
    assert_facts_are_right(course, DAY2, loaded)


def test_the_stored_bytes_read_back_unchanged():
    course, _, _ = history()
    score_course(course.pk, as_of=DAY1)
    snap = FactsSnapshot.objects.get(course=course)
    assert facts_snapshot._read_data(snap.pk) == bytes(snap.data)
    assert facts_snapshot._read_data(snap.pk + 1000) is None


def test_a_snapshot_whose_rows_disagree_with_its_count_is_read_again():
    course, _, _ = history()
    score_course(course.pk, as_of=DAY1)
    FactsSnapshot.objects.filter(course=course).update(events=6)  # holds 7
    assert facts_snapshot.load(course, DAY2, scoring.load_rows).source == "events"


@pytest.mark.django_db(transaction=True)
def test_the_watermark_and_every_read_share_one_view_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises transactions; the isolation level is PostgreSQL's")
    course, _, _ = history()
    seen = []

    def read(course_id, cutoff, after):
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            seen.append(cursor.fetchone()[0])
        return scoring.load_rows(course_id, cutoff, after)

    facts_snapshot.load(course, DAY1, read)
    assert seen == ["repeatable read"]


def test_a_membership_deleted_while_scoring_gets_no_rows():
    course, _, people = history()
    week = day(7).date()  # slow has been away for days: signals fire
    computed = scoring.compute_course(course, as_of=week)
    slow = people["slow"].pk
    assert [r.code for s in computed.result.scores if s.membership_id == slow for r in s.signals
            if r.fired]  # fmt: skip
    people["slow"].delete()
    scoring.write_scores(course, week, computed.result, watermark=computed.watermark, now=START)

    def stored(model):
        return set(model.objects.filter(as_of=week).values_list("membership_id", flat=True))

    assert stored(Progress) == stored(RiskScore) == {people["keen"].pk, people["new"].pk}


def test_the_collector_is_back_on_after_scoring_fails():
    inside = []

    def fail():
        with scoring.gc_paused():
            inside.append(gc.isenabled())
            raise RuntimeError("boom")

    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        fail()
    assert inside == [False]
    assert gc.isenabled()


def test_every_event_is_read_again_a_week_after_the_last_full_read():
    course, items, people = history()
    score_course(course.pk, as_of=DAY1)
    add_later_events(course, items, people)
    six, seven = DAY1 + timedelta(days=6), DAY1 + timedelta(days=7)
    assert facts_snapshot.load(course, six, scoring.load_rows).source == "snapshot"
    # A re-save from the snapshot keeps the day of the last full read.
    score_course(course.pk, as_of=six)
    snap = FactsSnapshot.objects.get(course=course)
    assert (snap.as_of, snap.read_on) == (six, DAY1)
    loaded = facts_snapshot.load(course, seven, scoring.load_rows)
    assert (loaded.source, loaded.read_on) == ("events", seven)
    assert_facts_are_right(course, seven, loaded)
