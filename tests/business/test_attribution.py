"""Revenue attribution arithmetic (pure, no database): measured against assumed figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from interventions.business.attribution import (
    ASSUMED,
    COMPLETED,
    MEASURED,
    NOT_COMPLETED,
    OPEN,
    Economics,
    LaterEnrolment,
    LearnerOutcome,
    attribute,
    baseline_rate,
    completer_worth,
    outcome_of,
    tally_of,
    what_if,
)

ECONOMICS = Economics(
    currency="EUR",
    programme_fee=Decimal("1000"),
    support_cost=Decimal("50"),
    followup_cost=Decimal("100"),
    baseline_start=date(2025, 1, 1),
    baseline_end=date(2025, 1, 31),
)
BASELINE_DAY = date(2025, 1, 10)
NOW_DAY = date(2026, 1, 10)


def o(outcome, on=NOW_DAY, *, refund=None, next_amount=None, reenrolled=False):
    later = None
    if reenrolled or next_amount is not None:
        later = LaterEnrolment(99, date(2026, 6, 1), next_amount)
    return LearnerOutcome(
        person_id=1,
        course_id=1,
        enrolled_on=on,
        outcome=outcome,
        refunded=refund is not None,
        refund_amount=refund,
        next_enrolment=later,
    )


def cohort():
    """Baseline (Jan 2025): 2 of 4 complete. Jan 2026: 3 of 4 complete, 1 still open."""
    return [
        o(COMPLETED, BASELINE_DAY),
        o(COMPLETED, BASELINE_DAY),
        o(NOT_COMPLETED, BASELINE_DAY, refund=Decimal("900")),
        o(NOT_COMPLETED, BASELINE_DAY),
        o(COMPLETED, next_amount=Decimal("1200")),
        o(COMPLETED, next_amount=Decimal("1200")),
        o(COMPLETED),
        o(NOT_COMPLETED),
        o(OPEN),
    ]


def test_outcomes_are_decided_by_criteria_withdrawal_refund_or_a_passed_deadline():
    today = date(2026, 3, 1)
    kw = {"withdrawn": False, "refunded": False, "due_on": None, "today": today}
    assert outcome_of(met=True, **{**kw, "withdrawn": True}) == COMPLETED
    assert outcome_of(met=False, **{**kw, "withdrawn": True}) == NOT_COMPLETED
    assert outcome_of(met=False, **{**kw, "refunded": True}) == NOT_COMPLETED
    assert outcome_of(met=False, **{**kw, "due_on": date(2026, 2, 28)}) == NOT_COMPLETED
    assert outcome_of(met=False, **{**kw, "due_on": today}) == OPEN
    assert outcome_of(met=False, **kw) == OPEN


def test_what_one_more_completer_is_worth_labels_each_part():
    worth = completer_worth(tally_of(cohort()), ECONOMICS, records_imported=True)
    # 1 of 3 non-completers refunded 900, no completer refunded: 300 measured.
    assert worth.refund_saving.value == Decimal("300")
    assert worth.refund_saving.basis == MEASURED
    # 2 of 5 completers re-enrolled at 1200, no non-completer did: 480 measured.
    assert worth.reenrolment_gain.value == Decimal("480")
    assert worth.reenrolment_gain.basis == MEASURED
    assert (worth.costs_avoided.value, worth.costs_avoided.basis) == (Decimal("150"), ASSUMED)
    assert (worth.total.value, worth.total.basis) == (Decimal("930"), ASSUMED)


def in_baseline(outcomes, economics=ECONOMICS):
    return tally_of(o for o in outcomes if economics.in_baseline(o.enrolled_on))


def test_attribution_against_the_baseline_and_the_what_if():
    outcomes = cohort()
    baseline = baseline_rate(in_baseline(outcomes), ECONOMICS)
    assert (baseline.value, baseline.basis) == (Decimal("0.5"), MEASURED)
    worth = completer_worth(tally_of(outcomes), ECONOMICS, records_imported=True)
    month = tally_of(x for x in outcomes if x.enrolled_on == NOW_DAY)
    a = attribute("2026-01", month, baseline=baseline, worth=worth, economics=ECONOMICS)
    assert (a.learners, a.completed, a.not_completed, a.still_open) == (5, 3, 1, 1)
    assert (a.completion_rate.value, a.completion_rate.basis) == (Decimal("0.75"), MEASURED)
    assert a.change.value == Decimal("25")
    assert a.change.shown == "+25.0 pts"
    assert (a.extra_completers.value, a.extra_completers.basis) == (Decimal(1), MEASURED)
    assert (a.refunds_avoided.value, a.refunds_avoided.basis) == (Decimal("300"), MEASURED)
    # Two recorded re-enrolments of 1200 each: measured revenue.
    assert (a.reenrolment_revenue.value, a.reenrolment_revenue.basis) == (2400, MEASURED)
    assert (a.value_of_change.value, a.value_of_change.basis) == (Decimal("930"), ASSUMED)
    # One point of 4 decided learners is 0.04 completers, each worth 930.
    assert a.value_of_point.value == Decimal("37.20")
    assert a.value_of_point.basis == ASSUMED
    ten = what_if(a.value_of_point, Decimal(10))
    assert (ten.value, ten.basis, ten.shown) == (Decimal("372.0"), ASSUMED, "372.00")


def test_without_records_refunds_are_left_out_and_re_enrolments_use_the_stated_fee():
    outcomes = [
        o(COMPLETED, reenrolled=True),
        o(COMPLETED),
        o(NOT_COMPLETED),
        o(NOT_COMPLETED),
    ]
    worth = completer_worth(tally_of(outcomes), ECONOMICS, records_imported=False)
    assert not worth.refund_saving.available
    assert "no enrolment or refund records" in worth.refund_saving.note
    # Re-enrolment rates are measured from launches, but their price is the stated fee.
    assert (worth.reenrolment_gain.value, worth.reenrolment_gain.basis) == (500, ASSUMED)
    assert worth.total.value == Decimal("650")
    assert "without refunds" in worth.total.note
    a = attribute("2026-01", tally_of(outcomes), baseline=baseline_rate(tally_of([]), ECONOMICS),
                  worth=worth, economics=ECONOMICS)  # fmt: skip
    assert not a.change.available
    assert a.change.shown == "n/a"
    assert not a.value_of_change.available
    assert (a.reenrolment_revenue.value, a.reenrolment_revenue.basis) == (1000, ASSUMED)
    assert "priced at the stated fee" in a.reenrolment_revenue.note
    assert what_if(a.value_of_point, Decimal(10)).value == Decimal("260")


def test_no_baseline_period_means_no_change_figures():
    plain = Economics(programme_fee=Decimal(100))
    rate = baseline_rate(in_baseline(cohort(), plain), plain)
    assert not rate.available
    assert rate.note == "no baseline period set"
