"""insert_rows, insert_new_rows and upsert_rows: plain rows in, defaults filled, JSON stored,
stored keys skipped or refused (both DBs); the JSON text they write."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from django.db import IntegrityError, connection, transaction

from completion.models import RiskScore, XapiStatement
from interventions.models import Intervention, OutboundMessage
from lti_tool.db.bulk import (
    SMALL,
    _json_dumps,
    fetch_rows,
    insert_new_rows,
    insert_rows,
    upsert_rows,
)
from lti_tool.models import Course, Deployment, Membership, Person

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def membership(platform):
    deployment = Deployment.objects.get()
    course = Course.objects.create(deployment=deployment, context_id="C1")
    person = Person.objects.create(deployment=deployment, sub="u1", email="u1@example.edu")
    return Membership.objects.create(
        course=course, person=person, role="learner", enrolled_at=WHEN, status_changed_at=WHEN
    )


def test_defaults_are_filled_and_rows_with_a_stored_key_are_skipped(membership):
    course = membership.course
    fields = ("idempotency_key", "deployment_id", "channel", "to_address", "body_text")
    fields += ("not_before",)
    row = ("k1", course.deployment_id, "email", "a@example.edu", "Hello", WHEN)
    insert_rows(OutboundMessage, fields, [row])
    # k1 again (with other content) and a new k2: only k2 is added, k1 keeps its first content.
    insert_rows(
        OutboundMessage,
        fields,
        [("k1", course.deployment_id, "sms", "+1555", "Other", WHEN), ("k2", *row[1:])],
    )
    stored = {m.idempotency_key: m for m in OutboundMessage.objects.all()}
    assert sorted(stored) == ["k1", "k2"]
    first = stored["k1"]
    assert (first.channel, first.body_text, first.not_before) == ("email", "Hello", WHEN)
    assert (first.status, first.attempts, first.subject) == ("pending", 0, "")
    assert first.course_id is None
    assert first.created_at is not None  # auto_now_add
    assert first.sent_at is None


def test_json_values_and_foreign_keys_round_trip(membership):
    fields = ("membership_id", "course_id", "playbook", "step", "episode", "channels", "status")
    insert_rows(
        Intervention,
        (*fields, "planned_at"),
        [
            (membership.pk, membership.course_id, "absence", "absent_2", "e1", ["email", "sms"],
             "sent", WHEN),
            (membership.pk, membership.course_id, "absence", "absent_4", "e1", [], "superseded",
             WHEN),
        ],
    )  # fmt: skip
    rows = {i.step: i for i in Intervention.objects.all()}
    assert rows["absent_2"].channels == ["email", "sms"]
    assert rows["absent_4"].channels == []
    assert rows["absent_2"].membership == membership
    assert (rows["absent_2"].tier, rows["absent_2"].detail, rows["absent_2"].case) == (1, "", None)


def test_an_unknown_field_is_refused(membership):
    with pytest.raises(ValueError, match="no fields"):
        insert_rows(OutboundMessage, ("nope",), [("x",)])


@pytest.mark.parametrize("extra", [0, SMALL], ids=["one statement", "through COPY"])
def test_upsert_updates_the_named_fields_and_keeps_the_others(membership, extra):
    key = ("membership_id", "as_of")
    first = _risk_rows(membership, [0])[0]
    upsert_rows(RiskScore, (*RISK_FIELDS, "reasons"), [(*first, ["3 d"])], key)
    RiskScore.objects.update(fired_signals=5)  # a field the upserts omit
    again = (*first[:4], 0.2, *first[5:])
    upsert_rows(RiskScore, RISK_FIELDS, [again, *_risk_rows(membership, range(1, extra + 1))], key)
    row = RiskScore.objects.get(as_of=WHEN.date())
    assert (row.probability, row.reasons, row.fired_signals) == (0.2, ["3 d"], 5)
    assert RiskScore.objects.count() == 1 + extra


def test_counts_and_json_through_copy(membership):
    fields = ("membership_id", "course_id", "playbook", "step", "episode", "channels", "status")
    rows = [
        (membership.pk, membership.course_id, "p", f"s{n}", "e", ["email", {"n": n}], "sent", WHEN)
        for n in range(SMALL + 20)
    ]
    first = insert_rows(Intervention, (*fields, "planned_at"), rows[:10])
    again = insert_rows(Intervention, (*fields, "planned_at"), rows)  # 10 stored already
    assert first == 10
    assert Intervention.objects.count() == SMALL + 20
    assert Intervention.objects.get(step="s300").channels == ["email", {"n": 300}]
    if connection.vendor == "postgresql":
        assert again == SMALL + 10  # what ON CONFLICT let through
    else:
        assert again == SMALL + 20  # what was offered: bulk_create cannot tell


def _risk_rows(membership, days):
    return [
        (membership.pk, membership.course_id, WHEN.date() + timedelta(days=n), "green", 0.9,
         "rules", WHEN)
        for n in days
    ]  # fmt: skip


RISK_FIELDS = (
    "membership_id", "course_id", "as_of", "tier", "probability", "model_used", "computed_at"
)  # fmt: skip


@pytest.mark.parametrize("count", [3, SMALL + 20], ids=["one statement", "through COPY"])
def test_insert_new_rows_stores_every_row_with_its_defaults(membership, count):
    insert_new_rows(RiskScore, RISK_FIELDS, _risk_rows(membership, range(count)))
    stored = RiskScore.objects.filter(membership=membership)
    assert stored.count() == count
    last = stored.get(as_of=WHEN.date() + timedelta(days=count - 1))
    assert (last.tier, last.probability, last.computed_at) == ("green", 0.9, WHEN)
    # the fields' defaults
    assert (last.reasons, last.signals, last.fired_signals, last.change) == ([], {}, 0, None)


@pytest.mark.parametrize("count", [3, SMALL + 20], ids=["one statement", "through COPY"])
def test_insert_new_rows_refuses_a_stored_key_and_stores_none_of_the_batch(membership, count):
    insert_new_rows(RiskScore, RISK_FIELDS, _risk_rows(membership, [count - 1]))
    batch = _risk_rows(membership, range(count))  # its last row's key is stored
    # Django's IntegrityError on both paths, as any failed query raises (not psycopg's own).
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_new_rows(RiskScore, RISK_FIELDS, batch)
    assert RiskScore.objects.count() == 1


def test_insert_new_rows_with_nothing_to_insert_does_nothing(membership):
    insert_new_rows(RiskScore, RISK_FIELDS, [])
    assert not RiskScore.objects.exists()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.int64(3), b"3"),
        (np.int64(-(2**40)), b"-1099511627776"),
        (np.int32(7), b"7"),
        (np.float64(2.5), b"2.5"),
        (np.float32(0.5), b"0.5"),
        (date(2026, 3, 2), b'"2026-03-02"'),
        (datetime(2026, 3, 2, 9, 30, tzinfo=UTC), b'"2026-03-02 09:30:00+00:00"'),
        (datetime(2026, 3, 2, 9, 30, 0, 123), b'"2026-03-02 09:30:00.000123"'),
        (
            {"absent": [np.int64(3), np.float64(0.25), True], "due": date(2026, 3, 2), "n": None},
            b'{"absent":[3,0.25,true],"due":"2026-03-02","n":null}',
        ),
        ({1: "a"}, b'{"1":"a"}'),
    ],
    ids=lambda v: type(v).__name__,
)
def test_json_text_has_numpy_numbers_as_numbers_and_dates_as_their_text(value, text):
    assert _json_dumps(value) == text
    # What json.dumps(default=str) wrote before, bar numpy numbers (which it wrote as strings).
    assert json.loads(text) == json.loads(
        json.dumps(value, default=lambda v: v.item() if isinstance(v, np.generic) else str(v))
    )


def test_numpy_numbers_in_json_fields_are_stored_as_numbers(membership):
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite path writes JSON through Django's own encoder")
    fields = ("membership_id", "course_id", "as_of", "tier", "probability", "reasons")
    fields += ("signals", "model_used", "computed_at")
    signals = {"absent": [np.int64(4), np.float64(2.5), True], "since": date(2026, 3, 1)}
    insert_new_rows(
        RiskScore,
        fields,
        [(membership.pk, membership.course_id, WHEN.date(), "red", 0.2, [], signals, "rules",
          WHEN)],
    )  # fmt: skip
    assert RiskScore.objects.get().signals == {"absent": [4, 2.5, True], "since": "2026-03-01"}


def test_a_table_with_a_uuid_column_goes_as_text_even_when_binary_is_asked(membership):
    # A binary COPY would need uuid.UUID objects; as text the server parses the strings.
    fields = ("deployment_id", "statement_id", "payload", "stored_at")
    deployment_id = membership.course.deployment_id
    rows = [(deployment_id, str(uuid.UUID(int=n)), {"n": n}, WHEN) for n in range(SMALL + 20)]
    insert_new_rows(XapiStatement, fields, rows, binary=True)
    stored = XapiStatement.objects.get(statement_id=uuid.UUID(int=SMALL))
    assert (stored.payload, stored.stored_at, stored.voided) == ({"n": SMALL}, WHEN, False)


def test_copy_in_binary_takes_whole_numbers_for_floats_and_keeps_every_type(membership):
    fields = (*RISK_FIELDS, "change", "reasons", "fired_signals")
    rows = [
        (membership.pk, membership.course_id, WHEN.date() + timedelta(days=n), "red", 1,
         "rules", WHEN, None, ["3 days since last visit"], 5)
        for n in range(SMALL + 20)
    ]  # fmt: skip
    insert_new_rows(RiskScore, fields, rows, binary=True)
    last = RiskScore.objects.get(as_of=WHEN.date() + timedelta(days=SMALL + 19))
    got = (last.tier, last.probability, last.change, last.reasons, last.fired_signals)
    assert got == ("red", 1.0, None, ["3 days since last visit"], 5)
    assert last.computed_at == WHEN


def test_copy_as_text_lets_the_server_parse_what_callers_hand_over(membership):
    # The default: a date as a string and a naive datetime (UTC on this connection), as an
    # AGS result's timestamp without an offset arrives, still go in.
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    naive = WHEN.replace(tzinfo=None)
    rows = [
        (membership.pk, membership.course_id, str(WHEN.date() + timedelta(days=n)), "green",
         0.9, "rules", naive)
        for n in range(SMALL + 20)
    ]  # fmt: skip
    insert_new_rows(RiskScore, RISK_FIELDS, rows)
    last = RiskScore.objects.get(as_of=WHEN.date() + timedelta(days=SMALL + 19))
    assert last.computed_at == WHEN


@pytest.mark.parametrize(
    ("count", "binary"), [(3, False), (SMALL + 20, False), (SMALL + 20, True)],
    ids=["insert", "copy-text", "copy-binary"],
)  # fmt: skip
def test_risk_signals_are_kept_as_the_json_text_written_and_read_back_alike(
    membership, count, binary
):
    # Keys in an order jsonb would change (it sorts by length): json keeps the text as sent.
    signals = {"peer_deviation": [-0.5, -1.5, False], "errors": [2, 1.0, True, "2 errors"]}
    rows = [
        (membership.pk, membership.course_id, WHEN.date() + timedelta(days=n), "red", 0.2,
         "rules", WHEN, {**signals, "n": n})
        for n in range(count)
    ]  # fmt: skip
    insert_new_rows(RiskScore, (*RISK_FIELDS, "signals"), rows, binary=binary)
    again = [(*row[:-1], {**row[-1], "again": True}) for row in rows[:2]]
    upsert_rows(
        RiskScore, (*RISK_FIELDS, "signals"), again, ("membership_id", "as_of"), binary=binary
    )
    made = RiskScore.objects.create(
        membership=membership, course=membership.course, as_of=WHEN.date() - timedelta(days=1),
        tier="green", probability=0.9, model_used="rules", computed_at=WHEN, signals=signals,
    )  # fmt: skip
    assert RiskScore.objects.get(pk=made.pk).signals == signals
    stored = dict(RiskScore.objects.values_list("as_of", "signals"))
    assert stored[WHEN.date()] == {**signals, "n": 0, "again": True}
    assert stored[WHEN.date() + timedelta(days=2)] == {**signals, "n": 2}
    assert len(stored) == count + 1
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT signals::text FROM completion_riskscore")
            assert all(text.startswith('{"peer_deviation"') for (text,) in cursor.fetchall())


def test_fetch_rows_reads_what_the_queryset_reads(membership):
    more = [
        Membership.objects.create(
            course=membership.course, person=Person.objects.create(
                deployment=membership.course.deployment, sub=f"u{n}"),
            role="learner", enrolled_at=WHEN + timedelta(hours=n), status_changed_at=WHEN,
        )
        for n in range(2, 5)
    ]  # fmt: skip
    query = Membership.objects.filter(course=membership.course, role="learner").exclude(
        pk=more[0].pk
    )
    rows = query.order_by("pk").values_list("pk", "person_id", "enrolled_at", "role")
    got = fetch_rows(rows)
    assert got == list(rows)
    assert [r[2] for r in got] == [WHEN, WHEN + timedelta(hours=3), WHEN + timedelta(hours=4)]
    assert all(r[2].utcoffset() == timedelta(0) for r in got)
