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


def quiet(code, value):
    """A graded signal short of its threshold: not fired, no reason."""
    return SignalResult(code, value, s.DEFAULTS[code], False)


def test_a_graded_signal_short_of_its_threshold_still_ranks_learners():
    # Engagement at the 35th and the 45th percentile: neither fires (threshold 30), but the
    # nearer to the threshold counts more, so the two are not tied as an on/off sum ties them.
    lower = score_rules([quiet(s.LOW_ENGAGEMENT, 35.0)], progress=0.0, completed=False,
                        config=CONFIG)  # fmt: skip
    higher = score_rules([quiet(s.LOW_ENGAGEMENT, 45.0)], progress=0.0, completed=False,
                         config=CONFIG)  # fmt: skip
    assert lower.probability < higher.probability < logistic(1.6)
    # 35th: (50 - 35) / (50 - 30) = 0.75 of the weight 0.6
    assert lower.probability == pytest.approx(round(logistic(1.6 - 0.6 * 0.75), 4))
    assert lower.reasons == higher.reasons == ()  # reasons name fired signals only


def test_a_graded_signal_past_its_threshold_counts_more_up_to_twice():
    at = fired(s.LOW_ENGAGEMENT, value=30.0)
    far = fired(s.LOW_ENGAGEMENT, value=5.0)  # (50 - 5) / 20 = 2.25, capped at 2
    assert s.strength(at) == 1.0
    assert s.strength(far) == s.MAX_STRENGTH == 2.0
    p = score_rules([far], progress=0.0, completed=False, config=CONFIG).probability
    assert p == pytest.approx(round(logistic(1.6 - 0.6 * 2.0), 4))


def test_strength_is_zero_when_held_back_abstaining_or_unknown_and_on_off_signals_stay_on_off():
    # past the threshold but not fired: a pause or completion held it back on purpose
    assert s.strength(quiet(s.MISSED_4, 6.0)) == 0.0
    assert s.strength(quiet(s.LOW_ENGAGEMENT, None)) == 0.0
    assert s.strength(SignalResult(s.NO_FORUM, None, 7.0, False, "abstains: no forum")) == 0.0
    assert s.strength(quiet(s.LOW_ENGAGEMENT, 70.0)) == 0.0  # above the cohort's middle
    assert s.strength(quiet(s.DECLINING, 0.75)) == pytest.approx(0.5)  # half-way from 1 to 0.5
    assert s.strength(fired(s.FAILED_TWICE, value=5.0)) == 1.0
    assert s.strength(quiet(s.FAILED_TWICE, 1.0)) == 0.0


def test_the_scorer_subtracts_each_weight_times_its_strength():
    # score_rules inlines `signals.strength` (it runs for every learner every day): the two agree
    results = [
        quiet(s.LOW_ENGAGEMENT, 40.0),
        fired(s.MISSED_2, value=3.0),
        quiet(s.MISSED_4, 3.0),
        fired(s.DECLINING, value=0.1),
        quiet(s.PEER_DEVIATION, None),
        quiet(s.BEHIND_20, 0.3),  # past its threshold, held back: nothing
        fired(s.NOT_STARTED, value=80.0),
        quiet(s.SCORE_BELOW_COHORT, 0.4),  # above the cohort's mean: nothing
    ]
    expected = 1.6 + 1.5 * 0.2 - sum(CONFIG.weights[r.code] * s.strength(r) for r in results)
    got = score_rules(results, progress=0.2, completed=False, config=CONFIG).probability
    assert got == pytest.approx(round(logistic(expected), 4))
    assert expected < 1.6 + 0.3 - 0.8 - 1.0 - 0.6  # the graded parts pulled it further down
