from __future__ import annotations

import math

import pytest

from completion.risk import signals as s
from completion.risk.rules import RulesConfig, logistic, score_rules, tier_of
from completion.risk.signals import SignalResult

CONFIG = RulesConfig()


def fired(code, reason="", value=1.0):
    return SignalResult(code, value, s.DEFAULTS[code], True, reason or code)


def test_no_signal_at_the_start_is_green_at_the_bias():
    result = score_rules([], progress=0.0, completed=False, config=CONFIG)
    assert result.probability == pytest.approx(round(1 / (1 + math.exp(-1.6)), 4))  # 0.832
    assert (result.tier, result.reasons) == ("green", ())


def test_each_fired_signal_subtracts_its_weight_from_the_log_odds():
    two = score_rules(
        [fired(s.MISSED_2, "3 days since last visit; usually visits daily")],
        progress=0.0,
        completed=False,
        config=CONFIG,
    )
    assert two.probability == pytest.approx(round(logistic(1.6 - 0.8), 4))  # 0.69
    assert two.tier == "yellow"
    four = score_rules(
        [fired(s.MISSED_2), fired(s.MISSED_4)], progress=0.0, completed=False, config=CONFIG
    )
    assert four.probability == pytest.approx(round(logistic(1.6 - 1.8), 4))  # 0.45
    assert four.tier == "red"


def test_progress_raises_the_probability():
    behind = [fired(s.BEHIND_20), fired(s.MISSED_2)]
    low = score_rules(behind, progress=0.1, completed=False, config=CONFIG)
    high = score_rules(behind, progress=0.9, completed=False, config=CONFIG)
    assert high.probability > low.probability


def test_reasons_are_ordered_by_weight_and_capped():
    results = [
        fired(s.ERRORS, "2 technical errors"),
        fired(s.LOW_ENGAGEMENT_WEEK1, "engagement"),
        fired(s.BEHIND_20, "28% behind pace"),
        fired(s.FAILED_TWICE, "failed quiz twice"),
        fired(s.NO_FORUM, "no forum post by day 7"),
        SignalResult(s.MISSED_4, 1.0, 4.0, False, ""),
    ]
    result = score_rules(results, progress=0.0, completed=False, config=CONFIG)
    assert result.reasons == (
        "engagement",
        "28% behind pace",
        "failed quiz twice",
        "2 technical errors",
    )


def test_completed_learners_are_green_and_certain():
    result = score_rules([fired(s.MISSED_4)], progress=1.0, completed=True, config=CONFIG)
    assert (result.tier, result.probability) == ("green", 1.0)


def test_tiers_cut_at_the_configured_points():
    config = RulesConfig.from_settings({"red_below": 0.4, "yellow_below": 0.6})
    assert [tier_of(p, config) for p in (0.39, 0.4, 0.59, 0.6)] == [
        "red",
        "yellow",
        "yellow",
        "green",
    ]


def test_settings_tune_thresholds_and_weights_and_reject_nonsense():
    config = RulesConfig.from_settings(
        {"thresholds": {s.BEHIND_20: 0.3}, "weights": {s.ERRORS: 0.0}}
    )
    assert config.thresholds[s.BEHIND_20] == 0.3
    assert config.thresholds[s.BEHIND_40] == 0.4
    assert config.weights[s.ERRORS] == 0.0
    for bad in (
        {"weights": {"nope": 1}},
        {"red_below": 0.9, "yellow_below": 0.5},
        {"trend_window_days": 7},
        {"colour": "red"},
        {"thresholds": [1]},
        {"thresholds": {s.MANY_ATTEMPTS: "nan"}},
        {"weights": {s.ERRORS: float("inf")}},
    ):
        with pytest.raises(ValueError):  # noqa: PT011
            RulesConfig.from_settings(bad)


def test_change_since_yesterday():
    result = score_rules([], progress=0.0, completed=False, config=CONFIG)
    assert result.change_from(0.9) == pytest.approx(0.832 - 0.9, abs=1e-4)
    assert result.change_from(None) is None
