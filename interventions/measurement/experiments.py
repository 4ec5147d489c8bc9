"""A/B tests of interventions: deterministic assignment and an honest analysis. Pure.

Assignment hashes (experiment, learner) so a learner always lands in the same arm, with an
optional hold-out that gets nothing. The analysis compares each variant's re-engagement rate
with the control's: difference with a Newcombe 95% interval (from Wilson intervals), Fisher's
exact test for significance (scipy), Cohen's h as the effect size, and a recommendation in
plain words that refuses to call a winner on too little data.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import binomtest, fisher_exact

HOLDOUT = "holdout"
MIN_PER_ARM = 30


@dataclass(frozen=True)
class Arm:
    key: str
    weight: float = 1.0


def bucket(experiment_key: str, unit: str) -> float:
    """A stable number in [0, 1) for this learner in this experiment."""
    digest = hashlib.sha256(f"{experiment_key}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(experiment_key: str, unit: str, arms: Sequence[Arm], holdout_share: float = 0.0) -> str:
    """The arm (or the hold-out) a learner belongs to, the same every time."""
    point = bucket(experiment_key, unit)
    if point < holdout_share:
        return HOLDOUT
    point = (point - holdout_share) / (1 - holdout_share) if holdout_share < 1 else 0.0
    total = sum(a.weight for a in arms)
    edge = 0.0
    for arm in arms:
        edge += arm.weight / total
        if point < edge:
            return arm.key
    return arms[-1].key


@dataclass(frozen=True)
class ArmResult:
    key: str
    n: int
    successes: int

    @property
    def rate(self) -> float:
        return self.successes / self.n if self.n else 0.0


@dataclass(frozen=True)
class Comparison:
    variant: str
    control: str
    difference: float  # variant rate minus control rate
    ci_low: float
    ci_high: float
    p_value: float
    effect_size_h: float
    significant: bool
    recommendation: str


def wilson(successes: int, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    ci = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def compare(variant: ArmResult, control: ArmResult, alpha: float = 0.05) -> Comparison:
    p1, p2 = variant.rate, control.rate
    l1, u1 = wilson(variant.successes, variant.n)
    l2, u2 = wilson(control.successes, control.n)
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    table = [
        [variant.successes, variant.n - variant.successes],
        [control.successes, control.n - control.successes],
    ]
    p_value = float(fisher_exact(table).pvalue) if variant.n and control.n else 1.0
    h = 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))
    significant = p_value < alpha and min(variant.n, control.n) >= MIN_PER_ARM
    return Comparison(
        variant.key,
        control.key,
        diff,
        low,
        high,
        p_value,
        h,
        significant,
        _recommend(variant, control, diff, p_value, significant),
    )


def _recommend(
    variant: ArmResult, control: ArmResult, diff: float, p_value: float, significant: bool
) -> str:
    points = abs(diff) * 100
    if min(variant.n, control.n) < MIN_PER_ARM:
        need = MIN_PER_ARM - min(variant.n, control.n)
        return (
            f"Too early to tell: each arm needs at least {MIN_PER_ARM} learners "
            f"({need} more in the smaller arm)."
        )
    if not significant:
        return (
            f"No clear difference yet ({points:.1f} points, p = {p_value:.2f}); "
            "keep the test running or treat the messages as equivalent."
        )
    better, worse = (variant.key, control.key) if diff > 0 else (control.key, variant.key)
    return (
        f"Use '{better}': it brings back {points:.1f} more learners in 100 than "
        f"'{worse}' (p = {p_value:.3f})."
    )
