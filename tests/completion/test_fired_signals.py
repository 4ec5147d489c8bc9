"""Fired signals as `RiskScore` keeps them: bits for queries, reasons in the signals JSON; the
queries that read them (roster filter and counts, the planner's first-fired days, a person's
data export), and migration 0012, which folded the old SignalValue rows into them."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from hypothesis import given
from hypothesis import strategies as st

from completion.learner.progress import signal_rows
from completion.models import RiskScore
from completion.risk.selectors import fired_counts, fired_since, with_fired
from completion.risk.signals import (
    CODES,
    FIRED_BIT,
    SignalResult,
    codes_in,
    fired_mask,
    from_stored,
    to_stored,
)
from tests.completion.riskdata import enrol, make_course

DAY = date(2026, 3, 2)
WHEN = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


# --- the stored forms --------------------------------------------------------------------------


@given(st.lists(st.sampled_from(CODES), unique=True))
def test_the_bits_hold_exactly_the_fired_codes(fired):
    results = [SignalResult(code, 1.0, 2.0, code in fired, "why") for code in CODES]
    mask = fired_mask(results)
    assert codes_in(mask) == [code for code in CODES if code in fired]
    assert mask == sum(1 << CODES.index(code) for code in fired)


def test_the_bits_never_move():
    # Stored in every RiskScore: reordering CODES would change what old rows say. New codes
    # go after the sixteen that migration 0012 wrote bits for.
    folded = importlib.import_module("completion.migrations.0012_signals_in_risk_scores")
    assert CODES[: len(folded.CODES)] == folded.CODES
    assert FIRED_BIT["not_started_48h"] == 1
    assert FIRED_BIT["peer_deviation"] == 1 << 15


def test_reasons_are_stored_for_fired_signals_only_and_read_back():
    results = (
        SignalResult("failed_twice", 2.0, 2.0, True, "failed Quiz twice"),
        SignalResult("no_forum_day_7", 0.0, 7.0, False),
        SignalResult("low_engagement", None, 30.0, False),
    )
    stored = to_stored(results)
    assert stored == {
        "failed_twice": [2.0, 2.0, True, "failed Quiz twice"],
        "no_forum_day_7": [0.0, 7.0, False],
        "low_engagement": [None, 30.0, False],
    }
    assert from_stored(stored) == list(results)


def test_rows_stored_before_reasons_read_with_an_empty_reason():
    assert from_stored({"missed_visits_2": [3.0, 2.0, True]}) == [
        SignalResult("missed_visits_2", 3.0, 2.0, True, "")
    ]


def test_stored_signals_read_in_signal_order_whatever_order_the_json_kept():
    # PostgreSQL's jsonb orders keys shortest first.
    stored = {"zzz": [1.0, 1.0, False], "failed_twice": [2.0, 2.0, False],
              "not_started_48h": [0.0, 48.0, False]}  # fmt: skip
    assert [r.code for r in from_stored(stored)] == ["not_started_48h", "failed_twice", "zzz"]


# --- the queries -----------------------------------------------------------------------------


def score(membership, as_of, *codes, reason="why"):
    results = [SignalResult(code, 1.0, 1.0, True, f"{reason} {code}") for code in codes]
    return RiskScore.objects.create(
        membership=membership, course=membership.course, as_of=as_of, tier="red",
        probability=0.3, signals=to_stored(results), fired_signals=fired_mask(results),
        model_used="rules", computed_at=WHEN,
    )  # fmt: skip


@pytest.mark.django_db
def test_the_roster_filter_and_counts_read_the_bits():
    course, _ = make_course()
    a, b, c = (enrol(course, sub) for sub in ("a", "b", "c"))
    score(a, DAY, "failed_twice", "missed_visits_2")
    score(b, DAY, "missed_visits_2")
    score(c, DAY)
    score(c, DAY - timedelta(days=1), "failed_twice")  # another day
    day = RiskScore.objects.filter(course=course, as_of=DAY)
    assert fired_counts(day) == [("missed_visits_2", 2), ("failed_twice", 1)]
    assert {r.membership_id for r in with_fired(day, "missed_visits_2")} == {a.pk, b.pk}
    assert [r.membership_id for r in with_fired(day, "failed_twice")] == [a.pk]
    assert not with_fired(day, "peer_deviation").exists()
    assert not with_fired(day, "no such signal").exists()


@pytest.mark.django_db
def test_fired_since_gives_the_first_day_in_the_window_of_each_signal_fired_today():
    course, _ = make_course()
    a, b = enrol(course, "a"), enrol(course, "b")
    score(a, DAY - timedelta(days=15), "failed_twice")  # outside the 14 days
    score(a, DAY - timedelta(days=9), "failed_twice", "technical_errors")
    score(a, DAY - timedelta(days=5), "missed_visits_2")
    score(a, DAY - timedelta(days=1))  # a gap: still the first day in the window
    score(a, DAY, "failed_twice", "missed_visits_2")  # technical_errors no longer fires
    score(b, DAY - timedelta(days=2), "peer_deviation")  # nothing today
    score(b, DAY)
    assert fired_since(course, DAY) == {
        a.pk: {
            "failed_twice": DAY - timedelta(days=9),
            "missed_visits_2": DAY - timedelta(days=5),
        }
    }
    assert fired_since(course, DAY - timedelta(days=9)) == {
        a.pk: {
            "failed_twice": DAY - timedelta(days=15),
            "technical_errors": DAY - timedelta(days=9),
        }
    }


@pytest.mark.django_db
def test_a_persons_data_export_lists_each_fired_signal_with_its_reason():
    course, _ = make_course()
    a, b = enrol(course, "a"), enrol(course, "b")
    score(a, DAY, "failed_twice")
    score(a, DAY - timedelta(days=1), "missed_visits_2", reason="old")
    score(b, DAY, "peer_deviation")
    assert signal_rows(a.person) == [
        {"course__context_id": course.context_id, "as_of": DAY - timedelta(days=1),
         "code": "missed_visits_2", "value": 1.0, "threshold": 1.0,
         "reason": "old missed_visits_2"},
        {"course__context_id": course.context_id, "as_of": DAY, "code": "failed_twice",
         "value": 1.0, "threshold": 1.0, "reason": "why failed_twice"},
    ]  # fmt: skip


# --- migration 0012 ----------------------------------------------------------------------------

BEFORE = [("completion", "0011_scores_without_key_constraints")]
AFTER = [("completion", "0012_signals_in_risk_scores")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_migration_0012_folds_signal_values_into_risk_scores_and_back(monkeypatch):
    migration = importlib.import_module("completion.migrations.0012_signals_in_risk_scores")
    monkeypatch.setattr(migration, "BATCH", 1)  # a learner's day spans batches (not on PG)
    old = migrate(BEFORE)
    try:
        OldRisk = old.get_model("completion", "RiskScore")
        SignalValue = old.get_model("completion", "SignalValue")
        # The score tables have no database foreign keys: plain ids will do.
        common = {"course_id": 7, "tier": "red", "probability": 0.3, "model_used": "rules",
                  "computed_at": WHEN}  # fmt: skip
        OldRisk.objects.create(
            membership_id=1, as_of=DAY, **common,
            signals={"failed_twice": [2.0, 2.0, True], "missed_visits_2": [3.0, 2.0, True],
                     "peer_deviation": [0.1, -1.5, False]},
        )  # fmt: skip
        OldRisk.objects.create(membership_id=2, as_of=DAY, **common, signals={})
        OldRisk.objects.create(
            membership_id=1, as_of=DAY - timedelta(days=1), **common,
            signals={"failed_twice": [2.0, 2.0, True]},
        )  # fmt: skip
        fired = [
            (1, DAY, "failed_twice", 2.0, 2.0, "failed Quiz twice"),
            (1, DAY, "missed_visits_2", 3.0, 2.0, "3 days since last visit"),
            (1, DAY - timedelta(days=1), "failed_twice", 2.0, 2.0, "failed Quiz twice"),
        ]
        SignalValue.objects.bulk_create(
            SignalValue(membership_id=m, course_id=7, as_of=d, code=code, value=v, threshold=t,
                        reason=why)
            for m, d, code, v, t, why in fired
        )  # fmt: skip

        new = migrate(AFTER)
        Risk = new.get_model("completion", "RiskScore")
        one = Risk.objects.get(membership_id=1, as_of=DAY)
        assert codes_in(one.fired_signals) == ["missed_visits_2", "failed_twice"]
        assert one.signals == {
            "failed_twice": [2.0, 2.0, True, "failed Quiz twice"],
            "missed_visits_2": [3.0, 2.0, True, "3 days since last visit"],
            "peer_deviation": [0.1, -1.5, False],
        }
        assert Risk.objects.get(membership_id=2).fired_signals == 0
        before = Risk.objects.get(membership_id=1, as_of=DAY - timedelta(days=1))
        assert codes_in(before.fired_signals) == ["failed_twice"]

        back = migrate(BEFORE)
        restored = back.get_model("completion", "SignalValue").objects.values_list(
            "membership_id", "as_of", "code", "value", "threshold", "reason"
        )
        assert sorted(restored) == sorted(fired)
        # The code before 0012 reads three elements an entry.
        again = back.get_model("completion", "RiskScore").objects.get(membership_id=1, as_of=DAY)
        assert again.signals == {
            "failed_twice": [2.0, 2.0, True],
            "missed_visits_2": [3.0, 2.0, True],
            "peer_deviation": [0.1, -1.5, False],
        }
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_unapplying_0011_drops_orphan_scores_so_the_constraints_can_return():
    course, _ = make_course()
    kept = enrol(course, "kept")
    score(kept, DAY, "failed_twice")
    gone = enrol(course, "gone")
    score(gone, DAY, "failed_twice")
    RiskScore.objects.filter(membership=gone).update(membership_id=gone.pk + 1000)  # an orphan
    try:
        old = migrate([("completion", "0010_facts_snapshot")])
        left = old.get_model("completion", "RiskScore").objects.values_list("membership_id")
        assert list(left) == [(kept.pk,)]
        assert old.get_model("completion", "SignalValue").objects.count() == 1  # unfolded
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
