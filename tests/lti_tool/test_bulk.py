"""insert_rows: plain rows in, defaults filled, JSON stored, stored keys skipped (both DBs)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from completion.models import SignalValue
from interventions.models import Intervention, OutboundMessage
from lti_tool.bulk import SMALL, insert_rows, upsert_rows
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
    key = ("membership_id", "as_of", "code")
    day = WHEN.date()
    fields = (*key, "course_id", "value", "threshold", "reason")
    filler = [(membership.pk, day, f"x{n}", membership.course_id, 0, 1, "") for n in range(extra)]
    first = (membership.pk, day, "absent", membership.course_id, 3, 2, "3 d")
    upsert_rows(SignalValue, fields, [first], key)
    SignalValue.objects.filter(code="absent").update(fired=False)  # a field the upsert omits
    upsert_rows(
        SignalValue,
        ("membership_id", "as_of", "code", "course_id", "value", "threshold"),
        [(membership.pk, day, "absent", membership.course_id, 5, 4), *[r[:6] for r in filler]],
        key,
    )
    row = SignalValue.objects.get(code="absent")
    assert (row.value, row.threshold, row.reason, row.fired) == (5, 4, "3 d", False)
    assert SignalValue.objects.count() == 1 + extra


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
