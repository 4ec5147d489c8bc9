"""The transparent rules model: fired signals -> completion probability, tier and reasons. Pure.

Each fired signal subtracts its weight from a log-odds of completing that starts at `bias` and
grows with the share already done; the logistic of that is the probability. Tiers cut the
probability at two tunable points. Instructors tune thresholds, weights and cut-offs per course
(`RulesConfig.from_settings`). The trained alternative lives in `risk_model`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from completion.risk import signals as s
from completion.risk.signals import SignalResult

GREEN = "green"
YELLOW = "yellow"
RED = "red"
RULES = "rules"

DEFAULT_WEIGHTS: Mapping[str, float] = {
    s.NOT_STARTED: 1.0,
    s.MISSED_2: 0.8,
    s.MISSED_4: 1.0,  # on top of MISSED_2, which has fired too
    s.BEHIND_20: 0.7,
    s.BEHIND_40: 0.8,
    s.FAILED_TWICE: 0.7,
    s.MANY_ATTEMPTS: 0.3,
    s.BELOW_MIN_TIME: 0.2,
    s.SCORE_BELOW_COHORT: 0.5,
    s.LOW_CONTENT_TIME: 0.4,
    s.NO_FORUM: 0.3,
    s.ERRORS: 0.3,
    s.LOW_ENGAGEMENT_WEEK1: 1.2,  # a strong early signal
    s.LOW_ENGAGEMENT: 0.6,
    s.DECLINING: 0.6,
    s.PEER_DEVIATION: 0.7,
    s.LOW_ACTIVITY: 1.0,  # as strong as not having started (see docs/risk.md)
}


@dataclass(frozen=True)
class RulesConfig:
    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(s.DEFAULTS))
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    bias: float = 1.6
    progress_weight: float = 1.5  # log-odds added per whole course done
    red_below: float = 0.5
    yellow_below: float = 0.75
    max_reasons: int = 4
    trend_window_days: int = 4

    @classmethod
    def from_settings(cls, data: Mapping[str, Any] | None) -> RulesConfig:
        """Defaults overridden by a course's saved settings; raises ValueError on bad input."""
        data = data or {}
        unknown = set(data) - {
            "thresholds",
            "weights",
            "bias",
            "progress_weight",
            "red_below",
            "yellow_below",
            "max_reasons",
            "trend_window_days",
        }
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        base = cls()
        thresholds = _merge(base.thresholds, data.get("thresholds"), "threshold")
        weights = _merge(base.weights, data.get("weights"), "weight")
        config = replace(
            base,
            thresholds=thresholds,
            weights=weights,
            bias=float(data.get("bias", base.bias)),
            progress_weight=float(data.get("progress_weight", base.progress_weight)),
            red_below=float(data.get("red_below", base.red_below)),
            yellow_below=float(data.get("yellow_below", base.yellow_below)),
            max_reasons=int(data.get("max_reasons", base.max_reasons)),
            trend_window_days=int(data.get("trend_window_days", base.trend_window_days)),
        )
        if not 0 < config.red_below <= config.yellow_below < 1:
            raise ValueError("need 0 < red_below <= yellow_below < 1")
        if not 3 <= config.trend_window_days <= 5:
            raise ValueError("trend_window_days must be 3, 4 or 5")
        return config


def _merge(base: Mapping[str, float], extra: object, what: str) -> dict[str, float]:
    merged = dict(base)
    if extra is None:
        return merged
    if not isinstance(extra, Mapping):
        raise ValueError(f"{what}s must be a mapping of signal code to number")
    for code, value in extra.items():
        if code not in base:
            raise ValueError(f"unknown signal in {what}s: {code}")
        merged[code] = float(value)
        if not math.isfinite(merged[code]):
            raise ValueError(f"the {what} of {code} must be a finite number")
    return merged


@dataclass(frozen=True)
class RiskResult:
    tier: str
    probability: float  # of completing, 0..1
    reasons: tuple[str, ...]
    model: str = RULES

    def change_from(self, previous: float | None) -> float | None:
        """The change in probability since `previous` (yesterday's), if there was one."""
        return None if previous is None else round(self.probability - previous, 4)


def tier_of(probability: float, config: RulesConfig) -> str:
    if probability < config.red_below:
        return RED
    if probability < config.yellow_below:
        return YELLOW
    return GREEN


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 40.0), -40.0)))


def reasons_of(
    fired: Sequence[SignalResult], order: Mapping[str, float], limit: int
) -> tuple[str, ...]:
    """The fired signals' reasons, heaviest first (ties keep signal order)."""
    ranked = sorted(fired, key=lambda r: -order.get(r.code, 0.0))
    seen: list[str] = []
    for r in ranked:
        if r.reason and r.reason not in seen:
            seen.append(r.reason)
    return tuple(seen[:limit])


def score_rules(
    results: Sequence[SignalResult], *, progress: float, completed: bool, config: RulesConfig
) -> RiskResult:
    """Combine one learner's signals into a probability of completing, a tier and reasons."""
    if completed:
        return RiskResult(GREEN, 1.0, ("completion criteria met",))
    fired = [r for r in results if r.fired]
    log_odds = config.bias + config.progress_weight * progress
    log_odds -= sum(config.weights.get(r.code, 0.0) for r in fired)
    probability = round(logistic(log_odds), 4)
    return RiskResult(
        tier_of(probability, config),
        probability,
        reasons_of(fired, config.weights, config.max_reasons),
    )
