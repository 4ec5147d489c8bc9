"""The arithmetic of business outcomes. Pure: frozen dataclasses in and out, no ORM, no clock.

Owns when a learner's outcome is decided (completed, confirmed not completed, still open), NPS,
re-enrolment and refund rates, and what completion is worth: refunds avoided, re-enrolment
revenue and support costs avoided, every figure labelled "measured" (from imported records and
launches) or "assumed" (from the deployment's stated settings). Reading the records is
`selectors`'s job (counting them for the reports, `counted`'s); deciding who is surveyed is
`surveys`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

COMPLETED = "completed"
NOT_COMPLETED = "not_completed"
OPEN = "open"
OUTCOME_WORDS = {COMPLETED: "Completers", NOT_COMPLETED: "Non-completers", OPEN: "Still open"}

MEASURED = "measured"
ASSUMED = "assumed"

MONEY = "money"
RATE = "rate"
POINTS = "points"
LEARNERS = "learners"

CENTS = Decimal("0.01")
HUNDRED = Decimal(100)


# --- outcomes and cohorts -----------------------------------------------------------------------


def outcome_of(
    *, met: bool, withdrawn: bool, refunded: bool, due_on: date | None, today: date
) -> str:
    """Completed once the criteria were met; not completed once that is confirmed
    (withdrawn, refunded, or the deadline passed unmet); otherwise still open."""
    if met:
        return COMPLETED
    if withdrawn or refunded or (due_on is not None and due_on < today):
        return NOT_COMPLETED
    return OPEN


@cache  # a report asks for each learner's cohort several times; there are few distinct days
def cohort_of(day: date) -> str:
    """The enrolment-month cohort a learner belongs to, e.g. "2026-01"."""
    return f"{day:%Y-%m}"


@dataclass(frozen=True)
class LaterEnrolment:
    course_id: int
    on: date
    # From the organisation's records; None when the enrolment was only seen at launch or NRPS.
    amount: Decimal | None


@dataclass(frozen=True)
class LearnerOutcome:
    """One learner's enrolment in one course, as the business reports see it."""

    person_id: int
    course_id: int
    enrolled_on: date
    outcome: str
    refunded: bool = False
    refund_amount: Decimal | None = None
    # The first enrolment in another course after this one (re-enrolment), if any.
    next_enrolment: LaterEnrolment | None = None

    @property
    def cohort(self) -> str:
        return cohort_of(self.enrolled_on)

    @property
    def reenrolled(self) -> bool:
        return self.next_enrolment is not None


@dataclass(frozen=True)
class Tally:
    """Additive counts over a group of learner outcomes: every figure below is computed from
    one. `tally_of` counts a list of outcomes; the pages count in SQL (`business.counted`)."""

    learners: int = 0
    completed: int = 0
    not_completed: int = 0
    completed_reenrolled: int = 0
    not_completed_reenrolled: int = 0
    completed_refunded: int = 0
    not_completed_refunded: int = 0
    # Refunded learners (whatever their outcome) with a recorded refund amount, and its sum.
    priced_refunds: int = 0
    refund_total: Decimal = Decimal(0)
    # Learners with a later enrolment; those whose next enrolment has a recorded amount, its sum.
    reenrolments: int = 0
    priced_reenrolments: int = 0
    reenrolment_total: Decimal = Decimal(0)

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(getattr(self, f) + getattr(other, f) for f in _TALLY_FIELDS))

    @property
    def decided(self) -> int:
        return self.completed + self.not_completed


_TALLY_FIELDS = tuple(Tally.__dataclass_fields__)


def tally_of(outcomes: Iterable[LearnerOutcome]) -> Tally:
    counts = dict.fromkeys(_TALLY_FIELDS, 0)
    refunds, reenrolments = Decimal(0), Decimal(0)
    for o in outcomes:
        counts["learners"] += 1
        if o.outcome != OPEN:
            counts[o.outcome] += 1
            counts[f"{o.outcome}_reenrolled"] += o.reenrolled
            counts[f"{o.outcome}_refunded"] += o.refunded
        if o.refunded and o.refund_amount is not None:
            counts["priced_refunds"] += 1
            refunds += o.refund_amount
        if o.next_enrolment is not None:
            counts["reenrolments"] += 1
            if o.next_enrolment.amount is not None:
                counts["priced_reenrolments"] += 1
                reenrolments += o.next_enrolment.amount
    del counts["refund_total"], counts["reenrolment_total"]
    return Tally(**counts, refund_total=refunds, reenrolment_total=reenrolments)


def sum_tallies(tallies: Iterable[Tally]) -> Tally:
    return sum(tallies, Tally())


# --- NPS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nps:
    answers: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def score(self) -> float | None:
        """% promoters (9-10) minus % detractors (0-6), -100..100; None without answers."""
        if not self.answers:
            return None
        return round(100.0 * (self.promoters - self.detractors) / self.answers, 1)


def nps(scores: Iterable[int]) -> Nps:
    promoters = passives = detractors = 0
    for score in scores:
        if not 0 <= score <= 10:
            raise ValueError(f"an NPS answer is 0 to 10, not {score}")
        if score >= 9:
            promoters += 1
        elif score >= 7:
            passives += 1
        else:
            detractors += 1
    return Nps(promoters + passives + detractors, promoters, passives, detractors)


# --- rates by outcome -------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRates:
    learners: int = 0
    reenrolled: int = 0
    refunded: int = 0

    @property
    def reenrolment_rate(self) -> float | None:
        return self.reenrolled / self.learners if self.learners else None

    @property
    def refund_rate(self) -> float | None:
        return self.refunded / self.learners if self.learners else None


@dataclass(frozen=True)
class OutcomeRates:
    completed: GroupRates
    not_completed: GroupRates
    open: int


def outcome_rates(t: Tally) -> OutcomeRates:
    return OutcomeRates(
        GroupRates(t.completed, t.completed_reenrolled, t.completed_refunded),
        GroupRates(t.not_completed, t.not_completed_reenrolled, t.not_completed_refunded),
        t.learners - t.decided,
    )


# --- labelled figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A number with its provenance: "measured" only when every input was measured."""

    value: Decimal | None
    basis: str
    unit: str
    note: str = ""

    @property
    def available(self) -> bool:
        return self.value is not None

    @property
    def shown(self) -> str:
        if self.value is None:
            return "n/a"
        if self.unit == MONEY:
            return f"{self.value.quantize(CENTS):,}"
        if self.unit == RATE:
            return f"{self.value * HUNDRED:.1f}%"
        if self.unit == POINTS:
            return f"{self.value:+.1f} pts"
        return f"{self.value:.1f}"


def _basis(*figures: Figure) -> str:
    return MEASURED if all(f.basis == MEASURED for f in figures) else ASSUMED


def _missing(unit: str, note: str, basis: str = MEASURED) -> Figure:
    return Figure(None, basis, unit, note)


def _ratio(part: int, whole: int) -> Decimal | None:
    return Decimal(part) / Decimal(whole) if whole else None


@dataclass(frozen=True)
class Economics:
    """The deployment's stated settings: the source of every "assumed" figure."""

    currency: str = "USD"
    programme_fee: Decimal = Decimal(0)
    support_cost: Decimal = Decimal(0)
    followup_cost: Decimal = Decimal(0)
    baseline_start: date | None = None
    baseline_end: date | None = None

    def in_baseline(self, day: date) -> bool:
        if self.baseline_start is None or self.baseline_end is None:
            return False
        return self.baseline_start <= day <= self.baseline_end


def completion_rate(t: Tally) -> Figure:
    """Completers over decided learners (learners still open are not counted)."""
    done, decided = t.completed, t.decided
    if not decided:
        return _missing(RATE, "no decided learners yet")
    return Figure(_ratio(done, decided), MEASURED, RATE, f"{done} of {decided} decided")


def baseline_rate(in_baseline: Tally, economics: Economics) -> Figure:
    """The completion rate of learners who enrolled within the baseline period (`in_baseline`
    counts only them)."""
    if economics.baseline_start is None or economics.baseline_end is None:
        return _missing(RATE, "no baseline period set")
    rate = completion_rate(in_baseline)
    if not rate.available:
        return _missing(RATE, "no decided learners in the baseline period")
    period = f"{economics.baseline_start:%Y-%m-%d} to {economics.baseline_end:%Y-%m-%d}"
    return Figure(rate.value, MEASURED, RATE, f"{rate.note}, enrolled {period}")


# --- what one more completer is worth ------------------------------------------------------------


@dataclass(frozen=True)
class Worth:
    """What one learner completing instead of not completing is worth, by component."""

    refund_saving: Figure
    reenrolment_gain: Figure
    costs_avoided: Figure
    total: Figure


def _mean(total: Decimal, count: int) -> Decimal | None:
    return total / count if count else None


def _refund_saving(rates: OutcomeRates, t: Tally, economics: Economics, records: bool) -> Figure:
    if not records:
        return _missing(MONEY, "no enrolment or refund records imported")
    c = _ratio(rates.completed.refunded, rates.completed.learners)
    n = _ratio(rates.not_completed.refunded, rates.not_completed.learners)
    if c is None or n is None:
        return _missing(MONEY, "needs both completers and non-completers")
    refund = _mean(t.refund_total, t.priced_refunds)
    basis = MEASURED if refund is not None else ASSUMED
    if refund is None:
        refund = economics.programme_fee
    stated = "" if t.priced_refunds else " (the stated fee)"
    per = f"mean refund {refund.quantize(CENTS)}{stated}"
    note = f"refund rate {n:.0%} of non-completers vs {c:.0%} of completers, {per}"
    return Figure((n - c) * refund, basis, MONEY, note)


def _reenrolment_gain(rates: OutcomeRates, t: Tally, economics: Economics) -> Figure:
    c = _ratio(rates.completed.reenrolled, rates.completed.learners)
    n = _ratio(rates.not_completed.reenrolled, rates.not_completed.learners)
    if c is None or n is None:
        return _missing(MONEY, "needs both completers and non-completers")
    fee = _mean(t.reenrolment_total, t.priced_reenrolments)
    basis = MEASURED if fee is not None else ASSUMED
    if fee is None:
        fee = economics.programme_fee
    stated = "" if t.priced_reenrolments else " (the stated fee)"
    per = f"{fee.quantize(CENTS)} a re-enrolment{stated}"
    note = f"re-enrolment {c:.0%} of completers vs {n:.0%} of non-completers, {per}"
    return Figure((c - n) * fee, basis, MONEY, note)


def completer_worth(t: Tally, economics: Economics, *, records_imported: bool) -> Worth:
    rates = outcome_rates(t)
    refund = _refund_saving(rates, t, economics, records_imported)
    reenrol = _reenrolment_gain(rates, t, economics)
    costs = Figure(
        economics.support_cost + economics.followup_cost,
        ASSUMED,
        MONEY,
        "stated support and instructor follow-up cost of a learner who does not complete",
    )
    parts = [f for f in (refund, reenrol, costs) if f.available]
    left_out = [
        name for name, f in (("refunds", refund), ("re-enrolment", reenrol)) if not f.available
    ]
    total = Figure(
        sum((f.value for f in parts if f.value is not None), Decimal(0)),
        _basis(*parts),
        MONEY,
        f"without {' and '.join(left_out)} (not measurable yet)" if left_out else "",
    )
    return Worth(refund, reenrol, costs, total)


# --- attribution per course or month -----------------------------------------------------------


@dataclass(frozen=True)
class Attribution:
    label: str
    learners: int
    completed: int
    not_completed: int
    still_open: int
    completion_rate: Figure
    baseline_rate: Figure
    change: Figure
    extra_completers: Figure
    refunds_avoided: Figure
    reenrolment_revenue: Figure
    value_of_change: Figure
    value_of_point: Figure


def _times(count: Figure, per: Figure, note: str) -> Figure:
    if count.value is None or per.value is None:
        return _missing(MONEY, count.note if count.value is None else per.note, _basis(count, per))
    return Figure(count.value * per.value, _basis(count, per), MONEY, note)


def reenrolment_revenue(t: Tally, economics: Economics) -> Figure:
    """Revenue of the next enrolments of these learners: recorded amounts, else the fee."""
    unpriced = t.reenrolments - t.priced_reenrolments
    total = t.reenrolment_total + unpriced * economics.programme_fee
    note = f"{t.reenrolments} re-enrolments" + (
        f", {unpriced} priced at the stated fee" if unpriced else ""
    )
    return Figure(total, ASSUMED if unpriced else MEASURED, MONEY, note)


def attribute(
    label: str,
    t: Tally,
    *,
    baseline: Figure,
    worth: Worth,
    economics: Economics,
) -> Attribution:
    """Completion against the baseline, and what the difference and one point are worth."""
    rate = completion_rate(t)
    decided, done = t.decided, t.completed
    if rate.value is None or baseline.value is None:
        change = _missing(POINTS, rate.note if rate.value is None else baseline.note)
        extra = _missing(LEARNERS, change.note)
    else:
        diff = rate.value - baseline.value
        change = Figure(diff * HUNDRED, MEASURED, POINTS, "against the baseline rate")
        extra = Figure(diff * decided, MEASURED, LEARNERS, f"{decided} decided learners")
    point = Figure(Decimal(decided) / HUNDRED, MEASURED, LEARNERS)
    return Attribution(
        label=label,
        learners=t.learners,
        completed=done,
        not_completed=decided - done,
        still_open=t.learners - decided,
        completion_rate=rate,
        baseline_rate=baseline,
        change=change,
        extra_completers=extra,
        refunds_avoided=_times(extra, worth.refund_saving, worth.refund_saving.note),
        reenrolment_revenue=reenrolment_revenue(t, economics),
        value_of_change=_times(extra, worth.total, worth.total.note),
        value_of_point=_times(point, worth.total, f"1 point = {point.value:.2f} completers"),
    )


def what_if(value_of_point: Figure, points: Decimal) -> Figure:
    """What a `points`-point improvement is worth, with the basis of the per-point value."""
    if value_of_point.value is None:
        return value_of_point
    return Figure(
        value_of_point.value * points,
        value_of_point.basis,
        MONEY,
        f"{points:g} points x {value_of_point.value.quantize(CENTS)} a point",
    )
